using Telos.Agents;
using Telos.Environments;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Learning.Reinforcement.Policies;
using Telos.Objectives;
using static TorchSharp.torch;

namespace Telos.Lab.Shift;

/// <summary>One target cell of a retargeting map: success (ended on the cell) and its ceiling (reachable without stepping on the cheese).</summary>
/// <param name="X">Column, from the left.</param>
/// <param name="Y">Row, from the bottom.</param>
/// <param name="Success">Of the levels where the cell is open and neither the start nor the cheese, the share of episodes that ended on it.</param>
/// <param name="Reachable">Of those levels, the share where the cell can be reached at all without stepping on the cheese (which ends a maze/test episode).</param>
public sealed record TargetCell(int X, int Y, Rate Success, Rate Reachable);

/// <summary>
/// Retargeting without training, for each kind of agent: a hard-coded agent gets a new objective (1 on the target
/// cell, 0 elsewhere: a swap), a policy a handle on its activations — the goal vector toward the target added at the
/// encoder (steer), or its cheese channel clamped high at the target (clamp, Turner et al.). Measured per target cell
/// through the one evaluation path.
/// </summary>
public static class Retargeting
{
    /// <summary>The objective "be on cell (x, y)": 1 there, 0 elsewhere (a swap; the planner is unchanged).</summary>
    public static AgentObjective<MazeState> CellGoal(int x, int y) =>
        new($"cell {x},{y}", AgentKind.ReadableObjective, level => new CellEvaluator(CellOf((Maze)level, x, y)));

    /// <summary>The cell index of (x, y) on <paramref name="level"/> (y from the bottom).</summary>
    public static int CellOf(Maze level, int x, int y)
    {
        ArgumentNullException.ThrowIfNull(level);
        return (level.Size - 1 - y) * level.Size + x;
    }

    /// <summary>Whether <paramref name="target"/> can be reached from the start without stepping on the cheese.</summary>
    public static bool ReachableAvoidingCheese(Maze level, int target)
    {
        ArgumentNullException.ThrowIfNull(level);
        var seen = new bool[level.Size * level.Size];
        var queue = new Queue<int>();
        queue.Enqueue(level.Start);
        seen[level.Start] = true;
        while (queue.TryDequeue(out var cell))
        {
            if (cell == target)
            {
                return true;
            }
            for (var a = 0; a < 4; a++)
            {
                var next = level.Neighbour(cell, a);
                if (next >= 0 && level.IsOpen(next) && !seen[next] && next != level.Cheese)
                {
                    seen[next] = true;
                    queue.Enqueue(next);
                }
            }
        }
        return false;
    }

    /// <summary>
    /// A map of success per target cell: for every cell (x, y), <paramref name="agentFor"/>(x, y) is evaluated on the levels of
    /// <paramref name="levelSeeds"/> of maze/test where the cell is open and is neither the start nor the cheese; success = ended on the cell.
    /// </summary>
    /// <param name="parameters">maze/test's parameters.</param>
    /// <param name="levelSeeds">The candidate levels.</param>
    /// <param name="seed">The evaluation seed.</param>
    /// <param name="agentFor">The retargeted agent for a cell; its <see cref="IDisposable"/> part, if any, is disposed after use.</param>
    public static IReadOnlyList<TargetCell> Map(DistributionParameters parameters, IReadOnlyList<long> levelSeeds, ulong seed, Func<int, int, IBatchedAgent<MazeState>> agentFor)
    {
        ArgumentNullException.ThrowIfNull(levelSeeds);
        ArgumentNullException.ThrowIfNull(agentFor);
        var family = MazeFamily.Instance;
        var levels = family.Typed("maze/test", parameters);
        var mazes = levelSeeds.Select(levels.Level).ToArray();
        var size = mazes[0].Size;
        var map = new List<TargetCell>();
        for (var y = size - 1; y >= 0; y--)
        {
            for (var x = 0; x < size; x++)
            {
                var usable = levelSeeds.Where((_, i) => Usable(mazes[i], CellOf(mazes[i], x, y))).ToArray();
                if (usable.Length == 0)
                {
                    map.Add(new TargetCell(x, y, new Rate(0, 0), new Rate(0, 0)));
                    continue;
                }
                var agent = agentFor(x, y);
                try
                {
                    var records = AgentEvaluation.Evaluate(agent, family, "maze/test", parameters, usable, seed).Records;
                    var reachable = usable.Count(s => ReachableAvoidingCheese(levels.Level(s), CellOf(levels.Level(s), x, y)));
                    map.Add(new TargetCell(x, y, new Rate(records.Count(r => r.EndX == x && r.EndY == y), records.Count), new Rate(reachable, usable.Length)));
                }
                finally
                {
                    (agent as IDisposable)?.Dispose();
                }
            }
        }
        return map;
    }

    /// <summary>The distribution the gem retargeting runs on: <c>maze/test</c> with <c>gems = 1</c>.</summary>
    public const string GemDistribution = "maze/test";

    /// <summary>maze/test's parameters with <c>gems = 1</c>: the same walls and cheese as without, and a gem on each level.</summary>
    public static DistributionParameters GemParameters(DistributionParameters testParameters)
    {
        ArgumentNullException.ThrowIfNull(testParameters);
        return DistributionParameters.Of([.. testParameters.Names.Where(n => n != "gems").Select(n => (n, testParameters[n])), ("gems", 1)]);
    }

    /// <summary>
    /// Retargeting to the gem: each level of <paramref name="levelSeeds"/> (maze/test with <c>gems = 1</c>) is run by
    /// <paramref name="agentFor"/>(x, y) of its gem's cell — levels grouped by that cell, one agent per group, so a handle that needs the
    /// target's place (a goal vector, a clamp) gets it; an agent that reads the gem by name ignores (x, y). Success = ended on the gem
    /// (the family's goal <c>gem</c>); its ceiling = the gem can be reached without stepping on the cheese (which ends the episode).
    /// Episode i depends on its level seed only (the one evaluation path), so the grouping does not change any episode.
    /// </summary>
    /// <param name="testParameters">maze/test's parameters, without <c>gems</c>.</param>
    /// <param name="levelSeeds">The levels; records come back in this order.</param>
    /// <param name="seed">The evaluation seed.</param>
    /// <param name="name">The summary's agent name.</param>
    /// <param name="agentFor">The retargeted agent for a gem at (x, y); its <see cref="IDisposable"/> part, if any, is disposed after use.</param>
    public static EvaluationSummary Gem(DistributionParameters testParameters, IReadOnlyList<long> levelSeeds, ulong seed, string name, Func<int, int, IBatchedAgent<MazeState>> agentFor)
    {
        ArgumentNullException.ThrowIfNull(levelSeeds);
        ArgumentNullException.ThrowIfNull(agentFor);
        var family = MazeFamily.Instance;
        var parameters = GemParameters(testParameters);
        var levels = family.Typed(GemDistribution, parameters);
        var records = new Dictionary<long, EpisodeRecord>();
        var kind = AgentKind.Scripted;
        foreach (var group in levelSeeds.Distinct().GroupBy(s => levels.Level(s).Gem))
        {
            var maze = levels.Level(group.First());
            var (x, y) = (maze.Gem % maze.Size, maze.Size - 1 - maze.Gem / maze.Size);
            var agent = agentFor(x, y);
            try
            {
                kind = agent.Kind;
                foreach (var record in AgentEvaluation.Evaluate(agent, family, GemDistribution, parameters, group.ToArray(), seed, new EvaluationOptions(Goal: "gem")).Records)
                {
                    records[record.LevelSeed] = record;
                }
            }
            finally
            {
                (agent as IDisposable)?.Dispose();
            }
        }
        return EvaluationSummary.Of(name, kind, GemDistribution, "gem", [.. levelSeeds.Select(s => records[s])]);
    }

    /// <summary>
    /// <paramref name="agent"/> on maze levels as if they had no gem (<see cref="Maze.WithoutGem"/>: three observation channels, the
    /// eight features): how a policy trained on levels without a gem meets a gem level. Disposes <paramref name="agent"/> with itself.
    /// </summary>
    public static IBatchedAgent<MazeState> WithoutGem(IBatchedAgent<MazeState> agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return new GemBlind(agent);
    }

    /// <summary>The hook point the goal vector is added at: <c>encoder.linear</c> where the policy has it, else <c>encoder.conv1</c>.</summary>
    public static string SteerPoint(ActorCritic policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return policy.HookPoints.Any(h => h.Name == GridEncoder.LinearPoint) ? GridEncoder.LinearPoint : GridEncoder.Conv1Point;
    }

    /// <summary>The <c>encoder.conv1</c> channel whose cheese-vector entry at the cheese's own cell, summed over <paramref name="levels"/>, is largest (Turner et al.'s cheese-tracking channel).</summary>
    public static int CheeseChannel(ActorCritic policy, IReadOnlyList<Maze> levels)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(levels);
        var channels = (int)policy.HookPoints.First(h => h.Name == GridEncoder.Conv1Point).Shape[0];
        var response = new double[channels];
        foreach (var maze in levels)
        {
            using var scope = NewDisposeScope();
            var cheese = GoalVector.CheeseVector(policy, GridEncoder.Conv1Point, [maze]);
            for (var c = 0; c < channels; c++)
            {
                response[c] += cheese[c, maze.Cheese / maze.Size, maze.Cheese % maze.Size].item<float>();
            }
        }
        return Array.IndexOf(response, response.Max());
    }

    /// <summary>
    /// The goal vector toward cell (x, y) at <paramref name="point"/>: the mean activation on each level's start observation
    /// with the cheese moved to (x, y), minus the same with no cheese at all (Turner et al.'s cheese vector, placed at the target).
    /// Returned in the caller's dispose scope.
    /// </summary>
    public static Tensor TargetVector(ActorCritic policy, string point, IReadOnlyList<Maze> levels, int x, int y)
    {
        ArgumentNullException.ThrowIfNull(levels);
        var (with, without) = GoalVector.CheesePairs(levels);
        var cheese = with.select(1, Maze.CheeseChannel);
        cheese.zero_();
        var row = levels[0].Size - 1 - y;
        cheese[TensorIndex.Colon, row, x] = tensor(1f);
        return GoalVector.MeanDifference(policy, point, with, without);
    }

    /// <summary>A policy's maze lanes with <paramref name="hooks"/> installed for as long as the lanes live.</summary>
    public static IBatchedAgent<MazeState> Hooked(ActorCritic policy, ActivationHooks hooks, string name) => Hooked<MazeState>(policy, hooks, name);

    /// <summary>A policy's lanes on any family's levels with <paramref name="hooks"/> installed for as long as the lanes live.</summary>
    public static IBatchedAgent<TState> Hooked<TState>(ActorCritic policy, ActivationHooks hooks, string name)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new HookedPolicy<TState>(policy, hooks, name);
    }

    private static bool Usable(Maze level, int cell) => level.IsOpen(cell) && cell != level.Cheese && cell != level.Start;

    private sealed class CellEvaluator(int target) : IStateEvaluator<MazeState>
    {
        public void Evaluate(ReadOnlySpan<MazeState> states, Span<double> values)
        {
            for (var i = 0; i < states.Length; i++)
            {
                values[i] = states[i].Cell == target ? 1.0 : 0.0;
            }
        }
    }

    private sealed class GemBlind(IBatchedAgent<MazeState> inner) : IBatchedAgent<MazeState>, IDisposable
    {
        public string Name => inner.Name;

        public AgentKind Kind => inner.Kind;

        public int Lanes => inner.Lanes;

        public void Reset(int lane, IEnvironment<MazeState> level, ulong seed) => inner.Reset(lane, level is Maze maze ? maze.WithoutGem() : level, seed);

        public void Act(ReadOnlySpan<int> lanes, ReadOnlySpan<MazeState> states, Span<int> actions) => inner.Act(lanes, states, actions);

        public void Dispose() => (inner as IDisposable)?.Dispose();
    }

    /// <summary>Installs the hooks on creation, removes and disposes them (and the lanes) on disposal.</summary>
    private sealed class HookedPolicy<TState> : IBatchedAgent<TState>, IDisposable
        where TState : struct
    {
        private readonly ActorCritic _policy;
        private readonly ActivationHooks _hooks;
        private readonly PolicyAgent<TState> _lanes;

        public HookedPolicy(ActorCritic policy, ActivationHooks hooks, string name)
        {
            _policy = policy;
            _hooks = hooks;
            _lanes = new PolicyAgent<TState>(policy, Evaluation.AgentEvaluations.PolicyLanes, name);
            policy.Hooks = hooks;
        }

        public string Name => _lanes.Name;

        public AgentKind Kind => _lanes.Kind;

        public int Lanes => _lanes.Lanes;

        public void Reset(int lane, IEnvironment<TState> level, ulong seed) => _lanes.Reset(lane, level, seed);

        public void Act(ReadOnlySpan<int> lanes, ReadOnlySpan<TState> states, Span<int> actions) => _lanes.Act(lanes, states, actions);

        public void Dispose()
        {
            _policy.Hooks = null;
            _hooks.Dispose();
            _lanes.Dispose();
        }
    }
}
