using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Control;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Learning.Objectives;
using Telos.Learning.Reinforcement.Policies;
using Telos.Objectives;

namespace Telos.Lab.Shift;

/// <summary>One agent of a <c>maze-shift</c> cell, as an analysis sees it after the cell has measured it.</summary>
/// <param name="Name">Its name in the results (<c>bfs + reward-linear</c>, <c>ppo-lstm</c>).</param>
/// <param name="Kind">Readable objective, neural objective or learned optimizer.</param>
/// <param name="Objective">The hard-coded agent's objective (card and, for network forms, module); null for a policy.</param>
/// <param name="Planner">The hard-coded agent's planner name; null for a policy.</param>
/// <param name="Policy">The policy network (no hooks installed); null for a hard-coded agent.</param>
/// <param name="Architecture">The policy's architecture; null for a hard-coded agent.</param>
/// <param name="Lanes">The agent as the evaluation path runs it.</param>
/// <param name="ObjectiveId">The hard-coded agent's objective as configs name it (<see cref="ShiftObjective.Id"/>, or <c>true</c> for the true reward); null for a policy.</param>
public sealed record ShiftAgent(string Name, AgentKind Kind, LoadedObjective? Objective, string? Planner, ActorCritic? Policy, PolicyOptions? Architecture, IBatchedAgent<MazeState> Lanes,
    string? ObjectiveId = null);

/// <summary>Sizes of the registered per-agent analyses (config keys in experiments/maze-shift.toml).</summary>
/// <param name="LabelBudgets">k of the goal-regression curve and of the matched fine-tuning (<c>label_budgets</c>).</param>
/// <param name="RegressionSteps">Adam steps of each goal regression (<c>regression_steps</c>).</param>
/// <param name="StepsPerLabel">Fine-tuning's environment steps per label (<c>steps_per_label</c>; 1 is the matched amount).</param>
/// <param name="RevealedLevels">Levels per distribution of the policy's own episodes the revealed card is fitted to (<c>revealed_levels</c>).</param>
/// <param name="ProbeLevels">maze/test levels whose episodes the probes read, a quarter held out (<c>probe_levels</c>).</param>
public sealed record ShiftAnalysisSizes(IReadOnlyList<int> LabelBudgets, int RegressionSteps, int StepsPerLabel, int RevealedLevels, int ProbeLevels);

/// <summary>What a cell gives its analyses besides the agent.</summary>
/// <param name="Run">The cell's run: its directory (artifacts), seed derivation, progress and cancellation.</param>
/// <param name="Settings">The cell's settings.</param>
/// <param name="TrainParameters">maze/train's parameters (size, step limit, training region).</param>
/// <param name="TestParameters">maze/test's parameters.</param>
/// <param name="TrainLevels">The maze/train level seeds every agent was measured on.</param>
/// <param name="TestLevels">The maze/test level seeds every agent was measured on.</param>
/// <param name="Data">The objectives' training transitions over named features (null in a policy cell).</param>
/// <param name="Results">The cell's results: an analysis adds its numbers here, named <c>analysis/NAME/AGENT/…</c>.</param>
/// <param name="EvaluationSeed">The seed every agent of the cell was measured with (episode seeds derive from it).</param>
public sealed record ShiftAnalysisContext(ExperimentContext Run, MazeShiftSettings Settings, DistributionParameters TrainParameters, DistributionParameters TestParameters,
    long[] TrainLevels, long[] TestLevels, TransitionSample? Data, RunResults Results, ulong EvaluationSeed)
{
    /// <summary>The cell's measured levels as the library's analyses take them (maze/test ignores the training region, so the training parameters serve both).</summary>
    public AnalysisLevels Levels => new(TrainParameters, TrainLevels, TestLevels, EvaluationSeed);

    /// <summary>The level set <paramref name="name"/> of the cell (<see cref="ShiftMeasurement.Levels"/> from the cell's seed, as the cell draws its own).</summary>
    public long[] LevelSeeds(string name, int count) => ShiftMeasurement.Levels(Run.Seed, MazeShiftExperiment.LevelScope, name, count);

    /// <summary>A seed for <paramref name="analysis"/>'s component <paramref name="name"/>, derived from the cell's seed.</summary>
    public ulong DeriveSeed(string analysis, string name) => (ulong)Run.DeriveSeed($"analysis/{analysis}/{name}");
}

/// <summary>
/// A per-agent analysis that a <c>maze-shift</c> cell runs after measuring each agent (goal-regression k-curves,
/// revealed objectives, probes, thinking-time curves, …). Register an implementation in <see cref="ShiftAnalyses.All"/>;
/// a config picks them by name with <c>analyses = [...]</c> (default: all). Results must be deterministic given the
/// cell's seed (derive every seed with <see cref="ExperimentContext.DeriveSeed"/>) and named
/// <c>analysis/NAME/AGENT/…</c>, so the sweep merges them over seeds like every other result.
/// </summary>
public interface IShiftAnalysis
{
    /// <summary>The name configs use and results start with (lower-case, dashes).</summary>
    string Name { get; }

    /// <summary>Whether it applies to <paramref name="agent"/> (e.g. only to policies).</summary>
    bool AppliesTo(ShiftAgent agent);

    /// <summary>Runs on one agent, adding results to <see cref="ShiftAnalysisContext.Results"/>.</summary>
    void Run(ShiftAnalysisContext context, ShiftAgent agent);
}

/// <summary>The per-agent analyses a <c>maze-shift</c> cell can run, in the order it runs them.</summary>
public static class ShiftAnalyses
{
    /// <summary>Every registered analysis. Add a new one here.</summary>
    public static IReadOnlyList<IShiftAnalysis> All { get; } =
        [new ThinkingTimeAnalysis(), new GoalRegressionAnalysis(), new FineTuningAnalysis(), new RevealedObjectiveAnalysis(), new ProbeAnalysis()];

    /// <summary>Their names.</summary>
    public static IReadOnlyList<string> Names => [.. All.Select(a => a.Name)];
}
