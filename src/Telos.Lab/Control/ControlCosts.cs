using System.Diagnostics;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Evaluation;
using Telos.Lab.Signatures;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Learning.Reinforcement.Policies;
using Telos.Objectives;
using static TorchSharp.torch;

namespace Telos.Lab.Control;

/// <summary>
/// The cost table of control: one row per operation on an agent — inspect, regress, edit, swap — with what
/// it cost (labels, gradient steps, environment steps, seconds) and, where it changes behaviour, the
/// agent's success on the shifted distribution afterwards (for a swap, on the swapped-in goal).
/// </summary>
public static class ControlCosts
{
    /// <summary>
    /// The hard-coded agent's rows: inspect (read the card), regress (the k-curve's point given), edit
    /// (<paramref name="edit"/> applied to the card), swap (plan over <paramref name="swap"/> instead, judged by <paramref name="swapGoal"/>).
    /// </summary>
    public static IReadOnlyList<CostRow> ForCard<TState>(IEnvironmentFamily<TState> family, string agent, ObjectiveCard card, Func<AgentObjective<TState>, IAgent<TState>> planner,
        AnalysisLevels levels, CurvePoint regressed, (string What, Func<ObjectiveCard, ObjectiveCard> Apply) edit, (string What, ObjectiveCard Card) swap, string swapGoal)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(planner);
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(regressed);
        ArgumentNullException.ThrowIfNull(edit.Apply);
        ArgumentNullException.ThrowIfNull(swap.Card);
        var clock = Stopwatch.StartNew();
        var text = card.Describe();
        var inspect = new OperationCost(0, 0, 0, clock.Elapsed.TotalSeconds);
        clock.Restart();
        var edited = edit.Apply(card);
        var editCost = new OperationCost(0, 0, 0, clock.Elapsed.TotalSeconds);
        Rate Test(ObjectiveCard c, string? goal = null) => AgentEvaluation.Evaluate(planner(AgentObjective<TState>.FromCard(c, agent)), family, levels.Test, levels.Parameters, levels.TestSeeds,
            levels.EvaluationSeed, new EvaluationOptions(Goal: goal)).Summary.Success;
        var kind = AgentKind.ReadableObjective;
        return
        [
            new(agent, kind, "inspect", $"read the card ({text.Split('\n').Length} lines)", inspect, null),
            new(agent, kind, "regress", $"goal regression on {regressed.Budget} labelled states ({regressed.Variant})", regressed.Cost, regressed.Summary.Success),
            new(agent, kind, "edit", edit.What, editCost, Test(edited)),
            new(agent, kind, "swap", swap.What, OperationCost.None, Test(swap.Card, swapGoal)),
        ];
    }

    /// <summary>
    /// The learned optimizer's rows: inspect (the probes of <see cref="PlanningSignatures.ProbePolicy{TState}"/> on
    /// <paramref name="probeSeeds"/> of the shifted distribution: their environment steps are the recorded episodes'),
    /// regress (the fine-tuning point given), edit (the cheese vector at <paramref name="steerPoint"/> from
    /// <paramref name="steerLevels"/>, added with <paramref name="steerScale"/>). Swapping a policy's goal means
    /// training it again; it has no row here.
    /// </summary>
    public static IReadOnlyList<CostRow> ForPolicy(string agent, ActorCritic policy, AnalysisLevels levels, IReadOnlyList<long> probeSeeds, CurvePoint fineTuned,
        string steerPoint, IReadOnlyList<Maze> steerLevels, double steerScale, ProbeSettings probes)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(probeSeeds);
        ArgumentNullException.ThrowIfNull(fineTuned);
        var family = MazeFamily.Instance;
        var size = family.Typed(levels.Test, levels.Parameters).Level(probeSeeds[0]).Size;
        var clock = Stopwatch.StartNew();
        var rows = PlanningSignatures.ProbePolicy(family, agent, policy, levels.Test, levels.Parameters, probeSeeds, levels.EvaluationSeed, [PlanningSignatures.CheeseCell(size)], probes);
        var recorded = rows.First(r => r.Target == "action +1");
        var inspect = new OperationCost(0, 0, recorded.TrainRows + recorded.HeldOutRows, clock.Elapsed.TotalSeconds);
        clock.Restart();
        using var scope = NewDisposeScope();
        var vector = GoalVector.CheeseVector(policy, steerPoint, steerLevels);
        var editCost = new OperationCost(0, 0, 0, clock.Elapsed.TotalSeconds);
        using var steer = new ActivationHooks(policy).Steer(steerPoint, vector, steerScale);
        var previous = policy.Hooks;
        policy.Hooks = steer;
        Rate steered;
        try
        {
            using var lanes = new PolicyAgent<MazeState>(policy, AgentEvaluations.PolicyLanes, agent);
            steered = AgentEvaluation.Evaluate(lanes, family, levels.Test, levels.Parameters, levels.TestSeeds, levels.EvaluationSeed).Summary.Success;
        }
        finally
        {
            policy.Hooks = previous;
        }
        var kind = AgentKind.LearnedOptimizer;
        return
        [
            new(agent, kind, "inspect", $"linear probes of the cheese cell and next actions at {policy.HookPoints.Count} hook points, {probeSeeds.Count} recorded episodes", inspect, null),
            new(agent, kind, "regress", $"PPO fine-tuning on {fineTuned.Cost.EnvironmentSteps} shifted environment steps (k = {fineTuned.Budget})", fineTuned.Cost, fineTuned.Summary.Success),
            new(agent, kind, "edit", $"add {steerScale} × the cheese vector at {steerPoint} ({steerLevels.Count} level pairs)", editCost, steered),
        ];
    }
}
