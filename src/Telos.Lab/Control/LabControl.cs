using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Signatures;
using Telos.Learning.Objectives;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using Telos.Objectives;

namespace Telos.Lab.Control;

/// <summary>A k-curve and the cost rows that go with it, for one agent.</summary>
/// <param name="Curve">The curve's points (<see cref="GoalRegressionCurve.Run{TState}"/> or <see cref="PolicyFineTuning.Run{TState}"/>'s rows).</param>
/// <param name="Costs">The cost table's rows of the agent (<see cref="ControlCosts"/>).</param>
public sealed record ControlResult(IReadOnlyList<CurvePoint> Curve, IReadOnlyList<CostRow> Costs);

/// <summary>
/// Control at matched cost as the lab runs it, in one place for every experiment that calls it (<c>lab-analyses</c>
/// and the analyses registered for <c>maze-shift</c> cells): the regression's anchor and optimizer, the fine-tuning's
/// PPO settings, the edit and the swap of the cost table, and the cost rows' regress point (the largest k).
/// </summary>
public static class LabControl
{
    /// <summary>The edit of the hard-coded agent's card in the cost table: the proxy's weight zeroed.</summary>
    public static (string What, Func<ObjectiveCard, ObjectiveCard> Apply) CardEdit { get; } = ("zero the weight of at_corner", c => c.ZeroWeight("at_corner"));

    /// <summary>The swap of the cost table: x − y, the bottom-right cell, judged by <see cref="SwapGoal"/>.</summary>
    public static (string What, ObjectiveCard Card) CardSwap { get; } = ("x − y (the bottom-right cell)", ObjectiveCard.Linear([new("x", 1.0), new("y", -1.0)]));

    /// <summary>The goal the swapped card is judged by.</summary>
    public const string SwapGoal = "bottom-right";

    /// <summary>The variant of the card's curve whose largest-k point is the cost table's regress row.</summary>
    public const string CostVariant = "anchor";

    /// <summary>
    /// The regression's settings: λ = 1 on the first 2,000 training states, Adam with learning rate 0.05 for
    /// <paramref name="steps"/> steps seeded by <paramref name="trainingSeed"/>, labels drawn from <paramref name="labelSeed"/>.
    /// </summary>
    public static RegressionCurveSettings Regression(IReadOnlyList<int> budgets, int steps, long trainingSeed, ulong labelSeed) =>
        new(budgets, 1.0, 2000, new TrainingOptions(Steps: steps, LearningRate: 0.05, Seed: trainingSeed), labelSeed);

    /// <summary>The fine-tuning's PPO settings: 64 environments at most, 4 epochs over 4 minibatches, learning rate 2.5·10⁻⁴ without annealing, clip 0.2.</summary>
    public static PpoSettings FineTunePpo { get; } = new() { NumEnvs = 64, NumMinibatches = 4, UpdateEpochs = 4, LearningRate = 2.5e-4, ClipCoef = 0.2, AnnealLr = false };

    /// <summary>The card's k-curve (<see cref="GoalRegressionCurve.Run{TState}"/>) and its cost rows (<see cref="ControlCosts.ForCard{TState}"/> with <see cref="CardEdit"/> and <see cref="CardSwap"/>; regress: the <see cref="CostVariant"/> point at the largest k on the shifted distribution).</summary>
    /// <exception cref="TelosInputException">A card goal regression does not take (a network form), or bad budgets.</exception>
    public static ControlResult ForCard<TState>(IEnvironmentFamily<TState> family, string agent, ObjectiveCard card, TransitionSample trainingData,
        Func<AgentObjective<TState>, IAgent<TState>> planner, AnalysisLevels levels, RegressionCurveSettings settings)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(settings);
        var curve = GoalRegressionCurve.Run(family, agent, card, trainingData, planner, levels, settings);
        var most = settings.Budgets.Max();
        var regressed = curve.Single(r => r.Variant == CostVariant && r.Budget == most && r.Summary.Distribution == levels.Test);
        return new ControlResult(curve, ControlCosts.ForCard(family, agent, card, planner, levels, regressed, CardEdit, CardSwap, SwapGoal));
    }

    /// <summary>
    /// The policy's fine-tuning k-curve (<see cref="PolicyFineTuning.Run{TState}"/>) and its cost rows (<see cref="ControlCosts.ForPolicy"/>;
    /// regress: the largest k on the shifted distribution; inspect: probes on <paramref name="probeSeeds"/>; edit: the cheese vector at
    /// <paramref name="steerPoint"/> from <paramref name="steerLevels"/>, ×<paramref name="steerScale"/>).
    /// </summary>
    /// <exception cref="TelosInputException">Bad budgets or settings.</exception>
    public static ControlResult ForPolicy(string agent, ActorCritic policy, AnalysisLevels levels, FineTuneSettings settings, IReadOnlyList<long> probeSeeds,
        string steerPoint, IReadOnlyList<Maze> steerLevels, double steerScale, ProbeSettings probes)
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(settings);
        var curve = PolicyFineTuning.Run(MazeFamily.Instance, agent, policy, levels, settings);
        var most = settings.Budgets.Max();
        var fineTuned = curve.Single(r => r.Budget == most && r.Summary.Distribution == levels.Test);
        return new ControlResult(curve, ControlCosts.ForPolicy(agent, policy, levels, probeSeeds, fineTuned, steerPoint, steerLevels, steerScale, probes));
    }
}
