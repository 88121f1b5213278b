using Telos.Agents;
using Telos.Environments;

namespace Telos.Lab.Control;

/// <summary>
/// The levels every per-agent analysis measures on, as an experiment's cell fixes them: the same
/// maze/train and maze/test level seeds and evaluation seed for every agent, so rows compare.
/// </summary>
/// <param name="Parameters">The distributions' parameters (size, step limit).</param>
/// <param name="TrainSeeds">Level seeds of the training distribution (the in-distribution control).</param>
/// <param name="TestSeeds">Level seeds of the shifted distribution.</param>
/// <param name="EvaluationSeed">The root of every episode seed (<see cref="AgentEvaluation.EpisodeSeed"/>).</param>
/// <param name="Train">The training distribution's name.</param>
/// <param name="Test">The shifted distribution's name.</param>
public sealed record AnalysisLevels(DistributionParameters Parameters, IReadOnlyList<long> TrainSeeds, IReadOnlyList<long> TestSeeds, ulong EvaluationSeed,
    string Train = "maze/train", string Test = "maze/test")
{
    /// <summary>The distribution's name and level seeds, training distribution first.</summary>
    public IEnumerable<(string Distribution, IReadOnlyList<long> Seeds)> Both => [(Train, TrainSeeds), (Test, TestSeeds)];

    /// <summary>Evaluates <paramref name="agent"/> on both distributions through the one evaluation path.</summary>
    public IReadOnlyList<EvaluationSummary> Evaluate<TState>(IAgent<TState> agent, IEnvironmentFamily<TState> family, int lanes = 1)
        where TState : struct =>
        [.. Both.Select(d => AgentEvaluation.Evaluate(agent, family, d.Distribution, Parameters, d.Seeds, EvaluationSeed, new EvaluationOptions(Lanes: lanes)).Summary)];

    /// <summary>Evaluates a batched agent (a policy) on both distributions through the one evaluation path.</summary>
    public IReadOnlyList<EvaluationSummary> Evaluate<TState>(IBatchedAgent<TState> agent, IEnvironmentFamily<TState> family)
        where TState : struct =>
        [.. Both.Select(d => AgentEvaluation.Evaluate(agent, family, d.Distribution, Parameters, d.Seeds, EvaluationSeed).Summary)];
}

/// <summary>What one operation on an agent cost.</summary>
/// <param name="Labels">States the programmer labelled with a value.</param>
/// <param name="GradientSteps">Optimizer steps taken.</param>
/// <param name="EnvironmentSteps">Environment steps taken (rollouts to record, train or fine-tune on).</param>
/// <param name="Seconds">Wall-clock seconds of the operation itself (not of measuring its effect).</param>
public sealed record OperationCost(int Labels, long GradientSteps, long EnvironmentSteps, double Seconds)
{
    /// <summary>Nothing: the operation reads or writes a value.</summary>
    public static OperationCost None { get; } = new(0, 0, 0, 0);
}

/// <summary>One row of the cost table: an operation on one agent, what it cost, and its effect where it has one.</summary>
/// <param name="Agent">The agent.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="Operation"><c>inspect</c>, <c>regress</c>, <c>edit</c> or <c>swap</c>.</param>
/// <param name="What">What was done, in a phrase (e.g. "zero the weight of at_corner").</param>
/// <param name="Cost">What it cost.</param>
/// <param name="Success">Success on the shifted distribution afterwards (null: an operation with no behavioural effect, such as inspecting).</param>
public sealed record CostRow(string Agent, AgentKind Kind, string Operation, string What, OperationCost Cost, Rate? Success);
