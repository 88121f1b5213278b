using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Shift;
using Telos.Objectives;
using Telos.Planning;

namespace Telos.Lab.Tests.Shift;

/// <summary>Retargeting to the gem, a second item no agent trained with: the hard-coded agent over an edited card, and the per-cell grouping a policy's handles need.</summary>
public sealed class GemRetargetingTests
{
    private static readonly DistributionParameters Test = DistributionParameters.Of(("size", 7), ("step_limit", 60));
    private static readonly long[] LevelSeeds = [.. Enumerable.Range(0, 40).Select(i => (long)(1000 + 7 * i))];

    [Fact]
    public void BfsOverTheEditedCardEndsOnTheGemExactlyWhereTheGemCanBeReachedWithoutTheCheese()
    {
        // A card with the corner tie a maze/train fit learns, edited: the cheese's and the corner's weights to 0, the gem's added.
        var card = ObjectiveCard.Linear([new("at_cheese", 5.0), new("at_corner", 5.0), new("path_dist_to_cheese", -0.01)])
            .SetWeight("at_cheese", 0).SetWeight("at_corner", 0).AddWeight(Maze.AtGem, 1);
        var agent = Bfs(AgentObjective<MazeState>.FromCard(card, "edited"));
        var summary = Retargeting.Gem(Test, LevelSeeds, seed: 5, "bfs + edit gem", (_, _) => AgentActions.Lanes(agent, 1));

        var levels = MazeFamily.Instance.Typed("maze/test", Retargeting.GemParameters(Test));
        var reachable = 0;
        var ended = 0;
        foreach (var seed in LevelSeeds)
        {
            var level = levels.Level(seed);
            var canReach = Retargeting.ReachableAvoidingCheese(level, level.Gem);
            var episode = AgentEvaluation.Run(agent, level, AgentEvaluation.EpisodeSeed(5, seed));
            Assert.Equal(canReach, episode.Final.Cell == level.Gem);
            reachable += canReach ? 1 : 0;
            ended += episode.Final.Cell == level.Gem ? 1 : 0;
        }
        Assert.InRange(reachable, 1, LevelSeeds.Length - 1); // both kinds of level occur
        Assert.Equal(new Rate(ended, LevelSeeds.Length), summary.Success);
        Assert.Equal(new Rate(reachable, LevelSeeds.Length), summary.SuccessCeiling);
        Assert.Equal("gem", summary.Goal);
    }

    [Fact]
    public void TheGemRewardSwappedInReachesTheCeilingAndTheUneditedCardDoesNot()
    {
        var swap = Retargeting.Gem(Test, LevelSeeds, 5, "swap", (_, _) => AgentActions.Lanes(Bfs(AgentObjective<MazeState>.FromCard(MazeFamily.GemReference.Card, "gem")), 1));
        Assert.Equal(swap.SuccessCeiling, swap.Success);
        var trained = ObjectiveCard.Linear([new("at_cheese", 5.0), new("at_corner", 5.0)]);
        var none = Retargeting.Gem(Test, LevelSeeds, 5, "none", (_, _) => AgentActions.Lanes(Bfs(AgentObjective<MazeState>.FromCard(trained, "trained")), 1));
        Assert.True(none.Success.Count < swap.Success.Count, $"the unedited card ended on the gem {none.Success} as often as the swap {swap.Success}");
    }

    [Fact]
    public void EachLevelsAgentIsTheOneForItsGemsCellAndSeesNoGemThroughWithoutGem()
    {
        var levels = MazeFamily.Instance.Typed("maze/test", Retargeting.GemParameters(Test));
        var seen = new List<(int X, int Y, Maze Level)>();
        // A planner told only a cell (x, y), never the gem: it ends on the gem wherever the gem is reachable only if (x, y) is the gem's cell.
        var summary = Retargeting.Gem(Test, LevelSeeds, 5, "cell", (x, y) => Retargeting.WithoutGem(new Recording(AgentActions.Lanes(Bfs(Retargeting.CellGoal(x, y)), 1), level => seen.Add((x, y, level)))));
        Assert.Equal(summary.SuccessCeiling, summary.Success);
        Assert.Equal(LevelSeeds.Length, seen.Count);
        foreach (var (x, y, level) in seen)
        {
            Assert.False(level.HasGem);
            Assert.Equal(3, level.ObservationShape.Channels);
            var seed = LevelSeeds.Single(s => level.Provenance!.EndsWith($" seed={s}", StringComparison.Ordinal));
            Assert.Equal(levels.Level(seed).Gem, Retargeting.CellOf(level, x, y));
        }
    }

    private static PlanningAgent<MazeState> Bfs(AgentObjective<MazeState> objective) =>
        new(Planners.Create("bfs", MazeFamily.Instance), objective, PlanBudget.Default with { TieTolerance = 0.01 });

    /// <summary>Passes everything on and records the level each lane is reset on.</summary>
    private sealed class Recording(IBatchedAgent<MazeState> inner, Action<Maze> reset) : IBatchedAgent<MazeState>
    {
        public string Name => inner.Name;

        public AgentKind Kind => inner.Kind;

        public int Lanes => inner.Lanes;

        public void Reset(int lane, IEnvironment<MazeState> level, ulong seed)
        {
            reset((Maze)level);
            inner.Reset(lane, level, seed);
        }

        public void Act(ReadOnlySpan<int> lanes, ReadOnlySpan<MazeState> states, Span<int> actions) => inner.Act(lanes, states, actions);
    }
}
