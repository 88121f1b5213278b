using System.Globalization;
using Telos.Environments;
using Telos.Randomness;

namespace Telos.Agents;

/// <summary>What an agent did in one episode, state by state.</summary>
/// <param name="States">Visited states, [T+1], from the start.</param>
/// <param name="Actions">Actions taken, [T].</param>
/// <param name="Terminated">The environment ended the episode (the cheese was reached, no chest is left to open).</param>
/// <param name="Truncated">The step limit cut it.</param>
/// <param name="Halted">The agent chose to stop (<see cref="AgentActions.Halt"/>).</param>
/// <param name="Return">Sum of the environment's own (true) rewards.</param>
public sealed record AgentEpisode<TState>(IReadOnlyList<TState> States, IReadOnlyList<int> Actions, bool Terminated, bool Truncated, bool Halted, double Return)
    where TState : struct
{
    /// <summary>The last state.</summary>
    public TState Final => States[^1];

    /// <summary>Actions taken, T.</summary>
    public int Steps => Actions.Count;
}

/// <summary>One episode of an evaluation, judged by the family's goals.</summary>
/// <param name="LevelSeed">The level's seed in its distribution.</param>
/// <param name="Steps">Actions taken.</param>
/// <param name="Return">Sum of the environment's rewards.</param>
/// <param name="Terminated">The environment ended the episode.</param>
/// <param name="Truncated">The step limit cut it.</param>
/// <param name="Halted">The agent stopped by choice.</param>
/// <param name="Success">It ended on the evaluation's goal (the family's true goal unless another was named).</param>
/// <param name="Proxy">It ended on the family's proxy goal and not on the true goal: proxy pursuit.</param>
/// <param name="ProxyDistinct">The level tells the proxy apart from the goal (proxy rates count only these).</param>
/// <param name="GoalReachable">Some episode could end on the evaluation's goal: the ceiling of success (null: the level has too many states to search, see <see cref="IEnvironmentFamily{TState}.Reachable"/>).</param>
/// <param name="ProxyReachable">Some episode could end on the proxy goal (null: too many states, or no proxy).</param>
/// <param name="Ending">The first family goal the final state satisfies, or <c>elsewhere</c>.</param>
/// <param name="EndX">x of the final cell (procgen: from the left), when the family has cells.</param>
/// <param name="EndY">y of the final cell (from the bottom).</param>
/// <param name="Counts">The family's counts of the final state (<see cref="IEnvironmentFamily{TState}.EpisodeCounts"/>; keys &amp; chests: chests opened, keys taken, keys beyond the chests).</param>
public sealed record EpisodeRecord(long LevelSeed, int Steps, double Return, bool Terminated, bool Truncated, bool Halted, bool Success, bool Proxy,
    bool ProxyDistinct, bool? GoalReachable, bool? ProxyReachable, string Ending, int? EndX, int? EndY, EpisodeCountValues Counts = default);

/// <summary>One of a family's episode counts over an evaluation.</summary>
/// <param name="Name">The count's name (<c>keys_beyond_chests</c>).</param>
/// <param name="Mean">Its mean over the episodes (0 with none).</param>
/// <param name="Positive">Episodes where it was above 0, out of all, with its Wilson interval (<c>keys_beyond_chests</c>: episodes that hoarded).</param>
public sealed record CountSummary(string Name, double Mean, Rate Positive);

/// <summary>A count out of a total, with its 95 % Wilson score interval.</summary>
/// <param name="Count">Successes.</param>
/// <param name="Of">Trials (0 gives rate 0 and interval [0, 1]).</param>
public readonly record struct Rate(int Count, int Of)
{
    /// <summary>Count / Of (0 when Of is 0).</summary>
    public double Value => Of == 0 ? 0 : Count / (double)Of;

    /// <summary>The 95 % Wilson score interval (z = 1.96).</summary>
    public (double Low, double High) Interval
    {
        get
        {
            if (Of == 0)
            {
                return (0, 1);
            }
            const double z = 1.959963984540054;
            var p = Value;
            var denominator = 1 + z * z / Of;
            var centre = (p + z * z / (2 * Of)) / denominator;
            var half = z * Math.Sqrt(p * (1 - p) / Of + z * z / (4.0 * Of * Of)) / denominator;
            return (Math.Max(0, centre - half), Math.Min(1, centre + half));
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Count}/{Of}");
}

/// <summary>The summary of an evaluation.</summary>
/// <param name="Agent">The agent's name.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="Distribution">The task distribution.</param>
/// <param name="Goal">The goal success was judged by.</param>
/// <param name="Success">Episodes that ended on the goal, out of all.</param>
/// <param name="SuccessCeiling">Levels where the goal could be reached at all, out of the levels small enough to search.</param>
/// <param name="Proxy">Episodes that ended on the proxy, out of levels that tell the proxy apart.</param>
/// <param name="ProxyCeiling">Levels (of those that tell it apart and are small enough to search) where the proxy could be reached.</param>
/// <param name="Halted">Episodes the agent stopped by choice.</param>
/// <param name="Truncated">Episodes the step limit cut.</param>
/// <param name="MeanSteps">Mean actions per episode.</param>
/// <param name="MeanReturn">Mean environment return.</param>
public sealed record EvaluationSummary(string Agent, AgentKind Kind, string Distribution, string Goal, Rate Success, Rate SuccessCeiling, Rate Proxy, Rate ProxyCeiling,
    int Halted, int Truncated, double MeanSteps, double MeanReturn)
{
    /// <summary>Levels evaluated.</summary>
    public int Levels => Success.Of;

    /// <summary>The family's episode counts summarised, in <see cref="IEnvironmentFamily{TState}.EpisodeCounts"/> order (empty when it takes none).</summary>
    public IReadOnlyList<CountSummary> Counts { get; init; } = [];

    /// <summary>Value equality over every field, the counts element by element (a record would compare the list by reference).</summary>
    public bool Equals(EvaluationSummary? other) =>
        other is not null
        && (Agent, Kind, Distribution, Goal, Success, SuccessCeiling, Proxy, ProxyCeiling, Halted, Truncated, MeanSteps, MeanReturn)
            == (other.Agent, other.Kind, other.Distribution, other.Goal, other.Success, other.SuccessCeiling, other.Proxy, other.ProxyCeiling, other.Halted, other.Truncated, other.MeanSteps, other.MeanReturn)
        && Counts.SequenceEqual(other.Counts);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Agent, Distribution, Goal, Success, Proxy, Truncated, MeanSteps, Counts.Count);

    /// <summary>Summarises <paramref name="records"/>; <paramref name="countNames"/> names the slots of their <see cref="EpisodeRecord.Counts"/> (null or empty: the counts are not summarised).</summary>
    /// <exception cref="ArgumentException">A record holds another number of counts than <paramref name="countNames"/> names.</exception>
    public static EvaluationSummary Of(string agent, AgentKind kind, string distribution, string goal, IReadOnlyList<EpisodeRecord> records, IReadOnlyList<string>? countNames = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        countNames ??= [];
        if (countNames.Count > 0 && records.FirstOrDefault(r => r.Counts.Count != countNames.Count) is { } odd)
        {
            throw new ArgumentException($"level {odd.LevelSeed} has {odd.Counts.Count} counts; expected {countNames.Count} ({string.Join(", ", countNames)})", nameof(records));
        }
        var distinct = records.Where(r => r.ProxyDistinct).ToArray();
        return new EvaluationSummary(agent, kind, distribution, goal,
            new Rate(records.Count(r => r.Success), records.Count),
            new Rate(records.Count(r => r.GoalReachable == true), records.Count(r => r.GoalReachable is not null)),
            new Rate(distinct.Count(r => r.Proxy), distinct.Length),
            new Rate(distinct.Count(r => r.ProxyReachable == true), distinct.Count(r => r.ProxyReachable is not null)),
            records.Count(r => r.Halted), records.Count(r => r.Truncated),
            records.Count == 0 ? 0 : records.Average(r => r.Steps),
            records.Count == 0 ? 0 : records.Average(r => r.Return))
        {
            Counts = [.. countNames.Select((name, i) => new CountSummary(name,
                records.Count == 0 ? 0 : records.Average(r => r.Counts[i]),
                new Rate(records.Count(r => r.Counts[i] > 0), records.Count)))],
        };
    }
}

/// <summary>An evaluation's records (in level order), their summary, and — when asked for — every episode.</summary>
public sealed record EvaluationResult<TState>(EvaluationSummary Summary, IReadOnlyList<EpisodeRecord> Records, IReadOnlyList<AgentEpisode<TState>>? Episodes)
    where TState : struct;

/// <summary>How to evaluate.</summary>
/// <param name="Lanes">Episodes run side by side through the agent's batched form (1..4096); results do not depend on it.</param>
/// <param name="Goal">The family goal success is judged by (default: the true goal).</param>
/// <param name="KeepEpisodes">Keep every episode's states and actions (for pictures and traces).</param>
public sealed record EvaluationOptions(int Lanes = 1, string? Goal = null, bool KeepEpisodes = false);

/// <summary>
/// The one evaluation path: agent × task distribution × levels × seed → per-episode records and
/// a summary. Every command, the demo and the experiments measure agents here, so a planner and a
/// learned policy are measured the same way. Episode i runs on level <c>levelSeeds[i]</c> with
/// episode seed <c>Seeds.Derive(seed, "episode/" + levelSeed)</c>, whatever lane it runs in.
/// </summary>
public static class AgentEvaluation
{
    /// <summary>The episode seed of a level in an evaluation with root <paramref name="seed"/>.</summary>
    public static ulong EpisodeSeed(ulong seed, long levelSeed) => Seeds.Derive(seed, "episode/" + levelSeed.ToString(CultureInfo.InvariantCulture));

    /// <summary>One episode from <paramref name="start"/> (default: the level's start) until the environment ends it or the agent halts.</summary>
    /// <param name="agent">The agent; it is reset here.</param>
    /// <param name="level">The level.</param>
    /// <param name="seed">The episode seed.</param>
    /// <param name="start">Where to start, if not at the level's start.</param>
    public static AgentEpisode<TState> Run<TState>(IAgent<TState> agent, IEnvironment<TState> level, ulong seed, TState? start = null)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(level);
        agent.Reset(level, seed);
        var lane = new Lane<TState>();
        lane.Start(level, start ?? level.Initial, 0);
        while (!lane.Done)
        {
            lane.Apply(agent.Act(lane.Current));
        }
        return lane.Episode();
    }

    /// <summary>Evaluates <paramref name="agent"/> on <paramref name="levelSeeds"/> of <paramref name="distribution"/>.</summary>
    /// <exception cref="TelosInputException">Bad options, an unknown goal, or an objective that does not fit the levels.</exception>
    public static EvaluationResult<TState> Evaluate<TState>(IAgent<TState> agent, IEnvironmentFamily<TState> family, string distribution, DistributionParameters parameters,
        IReadOnlyList<long> levelSeeds, ulong seed, EvaluationOptions? options = null)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(agent);
        options ??= new EvaluationOptions();
        if (options.Lanes is < 1 or > 4096)
        {
            throw new TelosInputException($"lanes {options.Lanes} must be 1 to 4096");
        }
        var lanes = AgentActions.Lanes(agent, Math.Max(1, Math.Min(options.Lanes, levelSeeds.Count)));
        return Evaluate(lanes, family, distribution, parameters, levelSeeds, seed, options);
    }

    /// <summary>Evaluates a batched agent: its lanes run side by side; a lane that finishes takes the next level.</summary>
    /// <exception cref="TelosInputException">An unknown goal or distribution, or an objective that does not fit the levels.</exception>
    public static EvaluationResult<TState> Evaluate<TState>(IBatchedAgent<TState> agent, IEnvironmentFamily<TState> family, string distribution, DistributionParameters parameters,
        IReadOnlyList<long> levelSeeds, ulong seed, EvaluationOptions? options = null)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(levelSeeds);
        options ??= new EvaluationOptions();
        var goal = options.Goal ?? family.Goals[0].Name;
        if (!family.Goals.Any(g => g.Name == goal))
        {
            throw new TelosInputException($"unknown {family.Name} goal '{goal}'; known: {string.Join(", ", family.Goals.Select(g => g.Name))}");
        }
        var levels = family.Distribution(distribution, parameters);
        var records = new EpisodeRecord[levelSeeds.Count];
        var episodes = options.KeepEpisodes ? new AgentEpisode<TState>[levelSeeds.Count] : null;
        var width = Math.Min(agent.Lanes, levelSeeds.Count);
        var running = new Lane<TState>[width];
        var next = 0;
        bool Refill(int lane)
        {
            if (next >= levelSeeds.Count)
            {
                return false;
            }
            var level = levels.Level(levelSeeds[next]);
            running[lane] ??= new Lane<TState>();
            running[lane].Start(level, level.Initial, next);
            agent.Reset(lane, level, EpisodeSeed(seed, levelSeeds[next]));
            next++;
            return true;
        }
        var active = new List<int>(width);
        for (var lane = 0; lane < width; lane++)
        {
            if (Refill(lane))
            {
                active.Add(lane);
            }
        }
        var laneIds = new int[width];
        var states = new TState[width];
        var actions = new int[width];
        while (active.Count > 0)
        {
            for (var i = 0; i < active.Count; i++)
            {
                laneIds[i] = active[i];
                states[i] = running[active[i]].Current;
            }
            agent.Act(laneIds.AsSpan(0, active.Count), states.AsSpan(0, active.Count), actions.AsSpan(0, active.Count));
            for (var i = active.Count - 1; i >= 0; i--)
            {
                var lane = running[active[i]];
                lane.Apply(actions[i]);
                if (!lane.Done)
                {
                    continue;
                }
                var episode = lane.Episode();
                records[lane.Index] = Record(family, lane.Level!, levelSeeds[lane.Index], episode, goal);
                if (episodes is not null)
                {
                    episodes[lane.Index] = episode;
                }
                if (!Refill(active[i]))
                {
                    active.RemoveAt(i);
                }
            }
        }
        var summary = EvaluationSummary.Of(agent.Name, agent.Kind, distribution, goal, records, family.EpisodeCounts);
        return new EvaluationResult<TState>(summary, records, episodes);
    }

    /// <summary>Judges one episode on <paramref name="level"/> by the family's goals.</summary>
    public static EpisodeRecord Record<TState>(IEnvironmentFamily<TState> family, IEnvironment<TState> level, long levelSeed, AgentEpisode<TState> episode, string goal)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(episode);
        var final = episode.Final;
        var verdict = family.Judge(level, final);
        var success = family.Reached(level, final, goal);
        var proxyGoal = family.Goals.Count > 1 ? family.Goals[1].Name : null;
        int? x = null, y = null;
        if (family.Cells is { } cells)
        {
            (var cx, var cy) = cells.CellOf(level, final);
            (x, y) = (cx, cy);
        }
        return new EpisodeRecord(levelSeed, episode.Steps, episode.Return, episode.Terminated, episode.Truncated, episode.Halted, success, verdict.Proxy,
            verdict.ProxyDistinct, family.Reachable(level, goal), proxyGoal is null ? null : family.Reachable(level, proxyGoal), verdict.Ending, x, y, family.Count(level, final));
    }

    /// <summary>One running episode: the state, the path so far and how it ended.</summary>
    private sealed class Lane<TState>
        where TState : struct
    {
        private List<TState> _states = [];
        private List<int> _actions = [];
        private double _return;
        private bool _terminated;
        private bool _truncated;
        private bool _halted;

        public IEnvironment<TState>? Level { get; private set; }

        public int Index { get; private set; }

        public TState Current { get; private set; }

        public bool Done => _terminated || _truncated || _halted;

        public void Start(IEnvironment<TState> level, TState start, int index)
        {
            Level = level;
            Index = index;
            Current = start;
            _states = [start];
            _actions = [];
            _return = 0;
            _terminated = _truncated = _halted = false;
        }

        public void Apply(int action)
        {
            if (action == AgentActions.Halt)
            {
                _halted = true;
                return;
            }
            var step = Level!.Step(Current, action);
            _return += step.Reward;
            _actions.Add(action);
            _states.Add(step.Next);
            Current = step.Next;
            _terminated = step.Terminated;
            _truncated = step.Truncated;
        }

        public AgentEpisode<TState> Episode() => new(_states, _actions, _terminated, _truncated, _halted, _return);
    }
}
