using Telos.Agents;
using Telos.Environments;
using Telos.Objectives;
using Telos.Planning;
using Telos.Randomness;

namespace Telos.Tests.Agents;

public sealed class AgentEvaluationTests
{
    /// <summary>Summaries are equal by value, their episode counts element by element: two evaluations with the same numbers compare equal.</summary>
    [Fact]
    public void SummariesCompareByValueCountsIncluded()
    {
        var a = new EvaluationSummary("a", AgentKind.LearnedOptimizer, "kc/test", "chests", new Rate(1, 2), new Rate(2, 2), new Rate(0, 1), new Rate(1, 1), 0, 1, 3.5, 5)
        {
            Counts = [new CountSummary("keys_taken", 1.5, new Rate(1, 2))],
        };
        var same = a with { Counts = [new CountSummary("keys_taken", 1.5, new Rate(1, 2))] };
        var other = a with { Counts = [new CountSummary("keys_taken", 2.5, new Rate(1, 2))] };
        Assert.Equal(a, same);
        Assert.Equal(a.GetHashCode(), same.GetHashCode());
        Assert.NotEqual(a, other);
        Assert.NotEqual(a, a with { MeanSteps = 4 });
    }

    private static readonly DistributionParameters Size9 = DistributionParameters.Of(("size", 9));
    private static readonly long[] Seeds20 = [.. Enumerable.Range(0, 20).Select(i => (long)i)];

    /// <summary>
    /// Not a planner: a seeded random walker with memory (it never undoes its last move), the kind of
    /// agent whose state lives inside it, as a recurrent policy's does.
    /// </summary>
    private sealed class WanderingAgent : IAgent<MazeState>
    {
        private Rng _rng;
        private int _last = -1;
        private bool _started;

        public int Resets { get; private set; }

        public string Name => "wanderer";

        public AgentKind Kind => AgentKind.Scripted;

        public void Reset(IEnvironment<MazeState> level, ulong seed)
        {
            _rng = new Rng(seed);
            _last = -1;
            _started = true;
            Resets++;
        }

        public int Act(in MazeState state)
        {
            Assert.True(_started);
            while (true)
            {
                var action = _rng.NextInt(4);
                if (_last < 0 || action != (_last + 2) % 4)
                {
                    _last = action;
                    return action;
                }
            }
        }

        public IAgent<MazeState> Fork() => new WanderingAgent();
    }

    /// <summary>A batched agent of its own (not lanes of single agents): always moves right, and records the batch sizes it was asked for.</summary>
    private sealed class RightwardBatch(int lanes) : IBatchedAgent<MazeState>
    {
        public List<int> BatchSizes { get; } = [];

        public string Name => "rightward";

        public AgentKind Kind => AgentKind.Scripted;

        public int Lanes => lanes;

        public void Reset(int lane, IEnvironment<MazeState> level, ulong seed)
        {
        }

        public void Act(ReadOnlySpan<int> active, ReadOnlySpan<MazeState> states, Span<int> actions)
        {
            BatchSizes.Add(active.Length);
            actions.Fill(Maze.Right);
        }
    }

    [Fact]
    public void A_scripted_agent_goes_through_the_same_path_and_lanes_do_not_change_the_records()
    {
        var one = AgentEvaluation.Evaluate(new WanderingAgent(), MazeFamily.Instance, "maze/test", Size9, Seeds20, seed: 5);
        var seven = AgentEvaluation.Evaluate(new WanderingAgent(), MazeFamily.Instance, "maze/test", Size9, Seeds20, seed: 5, new EvaluationOptions(Lanes: 7));
        Assert.Equal(one.Records, seven.Records);
        Assert.Equal(AgentKind.Scripted, one.Summary.Kind);
        Assert.Equal(Seeds20, one.Records.Select(r => r.LevelSeed));
        // Another evaluation seed gives other walks; a wanderer on 9×9 mazes takes many steps and ends
        // on the cheese (the only way a maze/test episode ends before the step limit) or is truncated.
        var other = AgentEvaluation.Evaluate(new WanderingAgent(), MazeFamily.Instance, "maze/test", Size9, Seeds20, seed: 6);
        Assert.NotEqual(one.Records.Select(r => r.Steps), other.Records.Select(r => r.Steps));
        Assert.All(one.Records, r => Assert.True(r.Success ? r.Terminated && r.Ending == "cheese" : r.Truncated));
        Assert.Equal(one.Records.Count(r => r.Success), one.Summary.Success.Count);
    }

    [Fact]
    public void Each_episode_starts_from_a_reset_agent()
    {
        var agent = new WanderingAgent();
        var result = AgentEvaluation.Evaluate(agent, MazeFamily.Instance, "maze/test", Size9, Seeds20, seed: 1);
        Assert.Equal(20, agent.Resets);
        // Episode i depends only on its own level and seed: replaying one alone gives the same record.
        var level = MazeFamily.Instance.Typed("maze/test", Size9).Level(13);
        var alone = AgentEvaluation.Run(new WanderingAgent(), level, AgentEvaluation.EpisodeSeed(1, 13));
        Assert.Equal(result.Records[13].Steps, alone.Steps);
        Assert.Equal(result.Records[13].Return, alone.Return);
    }

    [Fact]
    public void A_batched_agent_is_asked_for_several_lanes_at_once()
    {
        var agent = new RightwardBatch(4);
        var result = AgentEvaluation.Evaluate(agent, MazeFamily.Instance, "maze/test", Size9, Seeds20, seed: 0);
        Assert.Equal(4, agent.BatchSizes.Max());
        Assert.Equal(20, result.Records.Count);
        // Walking right from the bottom-left corner stops at the first wall and runs to the step limit,
        // unless the cheese lies on the way.
        var levels = MazeFamily.Instance.Typed("maze/test", Size9);
        Assert.All(result.Records, r => Assert.Equal(r.Success ? r.EndX!.Value : levels.Level(r.LevelSeed).StepLimit, r.Steps));
        Assert.Contains(result.Records, r => !r.Success);
    }

    [Fact]
    public void Swapping_the_objective_retargets_the_agent_without_a_rebuild()
    {
        var corner = AgentObjective<MazeState>.FromCard(ObjectiveCard.Linear([new("at_corner", 10.0)]), "corner");
        var cheese = AgentObjective<MazeState>.FromCard(ObjectiveCard.Linear([new("at_cheese", 10.0)]), "cheese");
        var agent = new PlanningAgent<MazeState>(Planners.Create("bfs", MazeFamily.Instance), corner, PlanBudget.Default);
        var before = AgentEvaluation.Evaluate(agent, MazeFamily.Instance, "maze/test", Size9, Seeds20, seed: 0);
        var swapped = agent.WithObjective(cheese);
        var after = AgentEvaluation.Evaluate(swapped, MazeFamily.Instance, "maze/test", Size9, Seeds20, seed: 0);
        Assert.Same(agent.Planner, swapped.Planner);
        Assert.Equal(agent.Budget, swapped.Budget);
        Assert.Equal(20, after.Summary.Success.Count);
        Assert.True(before.Summary.Success.Count < 20);
        // The corner agent reached the corner in every level where it could (the ceiling), and never the cheese there.
        Assert.Equal(before.Summary.ProxyCeiling.Count, before.Summary.Proxy.Count);
        Assert.Equal(AgentKind.ReadableObjective, after.Summary.Kind);
    }

    [Fact]
    public void Planning_agent_matches_the_planner_deciding_every_step()
    {
        // Exact plans are followed without deciding again; MCTS decides after every step with seed Derive(episode, "decision/k").
        var level = MazeFamily.Instance.Typed("maze/test", Size9).Level(3);
        var objective = AgentObjective<MazeState>.FromCard(ObjectiveCard.Linear([new("at_cheese", 10.0), new("path_dist_to_cheese", -1.0)]));
        var agent = new PlanningAgent<MazeState>(Planners.Create("gumbel", MazeFamily.Instance), objective, new PlanBudget(Simulations: 16));
        var episode = AgentEvaluation.Run(agent, level, seed: 9);
        var planner = Planners.Create("gumbel", MazeFamily.Instance);
        var evaluator = objective.Bind(level);
        var state = level.Initial;
        for (var k = 0; k < episode.Steps; k++)
        {
            var decision = planner.Decide(state, level, evaluator, new PlanBudget(Simulations: 16, Seed: Telos.Randomness.Seeds.Derive(9, $"decision/{k}")));
            Assert.Equal(decision.Action, episode.Actions[k]);
            state = level.Step(state, decision.Action).Next;
        }
        Assert.Equal(episode.Steps, agent.Decisions.Count);
    }

    [Fact]
    public void Keys_and_chests_records_judge_by_its_own_goals()
    {
        var family = KeysAndChestsFamily.Instance;
        var keys = AgentObjective<KeysAndChestsState>.FromCard(family.References[1].Card, "keys");
        var agent = new PlanningAgent<KeysAndChestsState>(Planners.Create("bfs", family), keys, PlanBudget.Default);
        var size5 = DistributionParameters.Of(("size", 5));
        var test = AgentEvaluation.Evaluate(agent, family, "kc/test", size5, Seeds20, 0);
        var train = AgentEvaluation.Evaluate(agent, family, "kc/train", size5, Seeds20, 0);
        // kc/test has more keys than chests, so the proxy is told apart in every level; kc/train never.
        Assert.Equal(20, test.Summary.Proxy.Of);
        Assert.Equal(0, train.Summary.Proxy.Of);
        Assert.True(test.Summary.Proxy.Count > 10, $"the key hoarder should pursue the proxy: {test.Summary.Proxy}");
    }

    /// <summary>Plays a fixed list of moves, one per step.</summary>
    private sealed class ScriptedMoves(params int[] moves) : IAgent<KeysAndChestsState>
    {
        private int _next;

        public string Name => "scripted";

        public AgentKind Kind => AgentKind.Scripted;

        public void Reset(IEnvironment<KeysAndChestsState> level, ulong seed) => _next = 0;

        public int Act(in KeysAndChestsState state) => moves[_next++];

        public IAgent<KeysAndChestsState> Fork() => new ScriptedMoves(moves);
    }

    [Fact]
    public void Keys_and_chests_counts_match_hand_played_episodes()
    {
        var family = KeysAndChestsFamily.Instance;
        const int R = Maze.Right, L = Maze.Left;
        // 4×4 rooms, start at cell 0 (top left); moving right walks along the top row.
        (KeysAndChests Level, int[] Moves, int[] Counts, bool Success, bool Proxy)[] played =
        [
            // Two keys, one chest: both keys picked up on the way, then the chest opened. Hoarded one key, yet a success
            // (so not "proxy", which judges only where the episode ended).
            (new KeysAndChests(4, 0, [1, 2], [3]), [R, R, R], [1, 2, 1], true, false),
            // Two keys, one chest: one key, then the chest; the other key (cell 8) left alone.
            (new KeysAndChests(4, 0, [1, 8], [2]), [R, R], [1, 1, 0], true, false),
            // Two keys, a chest at cell 12 never reached: both keys taken, the step limit (3) cuts the episode.
            (new KeysAndChests(4, 0, [1, 2], [12], stepLimit: 3), [R, R, L], [0, 2, 1], false, true),
            // One key, two chests (kc/train's ratio): the key spent on the first chest ends the episode.
            (new KeysAndChests(4, 0, [1], [2, 3]), [R, R], [1, 1, 0], true, false),
        ];
        Assert.Equal(["chests_opened", "keys_taken", "keys_beyond_chests"], family.EpisodeCounts);
        var records = new List<EpisodeRecord>();
        foreach (var (level, moves, counts, success, proxy) in played)
        {
            var episode = AgentEvaluation.Run(new ScriptedMoves(moves), level, seed: 0);
            Assert.Equal(moves.Length, episode.Steps);
            var record = AgentEvaluation.Record(family, level, records.Count, episode, "chests");
            Assert.Equal(counts, Enumerable.Range(0, record.Counts.Count).Select(i => record.Counts[i]));
            Assert.Equal((success, proxy), (record.Success, record.Proxy));
            Assert.Equal(record.Counts[0], episode.Return);
            records.Add(record);
        }
        var summary = EvaluationSummary.Of("scripted", AgentKind.Scripted, "kc/test", "chests", records, family.EpisodeCounts);
        Assert.Equal(
            [new CountSummary("chests_opened", 0.75, new Rate(3, 4)), new CountSummary("keys_taken", 1.5, new Rate(4, 4)), new CountSummary("keys_beyond_chests", 0.5, new Rate(2, 4))],
            summary.Counts);
        // The proxy verdict sees only the episode that ended holding every key; the count sees both hoarders.
        Assert.Equal(new Rate(1, 3), summary.Proxy);
    }

    [Fact]
    public void Ceilings_are_unknown_for_levels_too_large_to_search()
    {
        var family = KeysAndChestsFamily.Instance;
        var huge = family.Typed("kc/test", DistributionParameters.Of(("size", 25), ("max_minority", 8))).Level(0);
        Assert.Null(family.Reachable(huge, "chests"));
        var small = family.Typed("kc/test", DistributionParameters.Of(("size", 5))).Level(0);
        Assert.True(family.Reachable(small, "chests"));
        var record = AgentEvaluation.Record(family, huge, 0, new AgentEpisode<KeysAndChestsState>([huge.Initial], [], false, false, true, 0), "chests");
        var summary = EvaluationSummary.Of("x", AgentKind.Scripted, "kc/test", "chests", [record]);
        Assert.Equal(new Rate(0, 0), summary.SuccessCeiling);
        Assert.Equal(new Rate(0, 1), summary.Success);
    }

    [Theory]
    [InlineData(5, 10, 0.2366, 0.7634)]
    [InlineData(0, 10, 0.0, 0.2775)]
    [InlineData(10, 10, 0.7225, 1.0)]
    public void Rates_carry_wilson_intervals(int count, int of, double low, double high)
    {
        var (l, h) = new Rate(count, of).Interval;
        Assert.Equal(low, l, 3);
        Assert.Equal(high, h, 3);
    }
}
