using System.Globalization;
using System.Text.RegularExpressions;
using Telos.Environments;
using Telos.Lab.Control;
using Telos.Lab.Reports;
using Telos.Lab.Runs;
using Telos.Lab.Signatures;
using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Lab.Shift;

/// <summary>How the registered analyses name their results: <c>analysis/NAME/AGENT/…</c>, labels made result-safe.</summary>
public static partial class ShiftAnalysisResults
{
    /// <summary><c>analysis/NAME/AGENT</c>.</summary>
    public static string Prefix(string analysis, string agent) => $"analysis/{analysis}/{agent}";

    /// <summary>A label as a result-name part: lower case, every run of other characters than letters, digits and dots one <c>_</c> (<c>anchor, no proxy label</c> → <c>anchor_no_proxy_label</c>, <c>action +4</c> → <c>action_4</c>).</summary>
    public static string Part(string label)
    {
        ArgumentNullException.ThrowIfNull(label);
        return Separators().Replace(label.ToLowerInvariant(), "_").Trim('_');
    }

    /// <summary>
    /// A k-curve's points: <c>PREFIX/[VARIANT/]kK/DIST/…</c> (<see cref="EvaluationReport.AddTo"/>'s names) and, once per k,
    /// <c>PREFIX/[VARIANT/]kK/goal_labels</c>, <c>proxy_labels</c>, <c>gradient_steps</c> and <c>environment_steps</c>.
    /// Wall-clock seconds are left out: results are a pure function of the cell's seed.
    /// </summary>
    public static void AddCurve(RunResults results, string prefix, IEnumerable<CurvePoint> points, bool withVariant)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(points);
        foreach (var group in points.GroupBy(p => (p.Variant, p.Budget)))
        {
            var first = group.First();
            var name = string.Create(CultureInfo.InvariantCulture, $"{prefix}/{(withVariant ? Part(first.Variant) + "/" : "")}k{first.Budget}");
            foreach (var point in group)
            {
                EvaluationReport.AddTo(results, point.Summary, name);
            }
            results.Add(name + "/goal_labels", first.GoalLabels).Add(name + "/proxy_labels", first.ProxyLabels)
                .Add(name + "/gradient_steps", first.Cost.GradientSteps).Add(name + "/environment_steps", first.Cost.EnvironmentSteps);
        }
    }

    /// <summary>Cost rows: <c>PREFIX/cost/OPERATION/labels</c>, <c>gradient_steps</c>, <c>environment_steps</c> and, where the operation changes behaviour, <c>success</c> (on maze/test; a swap on its own goal).</summary>
    public static void AddCosts(RunResults results, string prefix, IEnumerable<CostRow> rows)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(rows);
        foreach (var row in rows)
        {
            var name = $"{prefix}/cost/{row.Operation}";
            results.Add(name + "/labels", row.Cost.Labels).Add(name + "/gradient_steps", row.Cost.GradientSteps).Add(name + "/environment_steps", row.Cost.EnvironmentSteps);
            if (row.Success is { } success)
            {
                results.Add(name + "/success", success);
            }
        }
    }

    /// <summary>A k-curve and its cost rows (<see cref="AddCurve"/>, <see cref="AddCosts"/>); what each operation took in wall-clock seconds goes to the cell's log (not a result: it is not a function of the seed).</summary>
    internal static void AddControl(ShiftAnalysisContext context, string prefix, ControlResult result, bool withVariant)
    {
        AddCurve(context.Results, prefix, result.Curve, withVariant);
        AddCosts(context.Results, prefix, result.Costs);
        foreach (var row in result.Costs)
        {
            context.Run.Run.Log(string.Create(CultureInfo.InvariantCulture, $"{row.Agent}: {row.Operation} ({row.What}) took {row.Cost.Seconds:F3} s"));
        }
    }

    [GeneratedRegex("[^a-z0-9.]+")]
    private static partial Regex Separators();
}

/// <summary>
/// Control at matched cost, the hard-coded agent's side, for every planner over a card learned by reward regression
/// (<c>reward-linear</c>, <c>reward-sparse</c>, <c>reward-monotone</c>): the goal-regression k-curve with k ∈ <c>label_budgets</c>
/// labelled maze/test states, anchor on and off and without proxy labels (<see cref="GoalRegressionCurve"/>'s stated label
/// rule, one label stream per cell), and the card's cost rows (<see cref="LabControl.ForCard{TState}"/>).
/// </summary>
/// <remarks>
/// Why those cards: goal regression fits labels in the true reward's units (10 on the cheese) with the card's own
/// values on its training states as the anchor; a card learned by reward regression is in those units, so λ weighs
/// like against like. Cards from preferences and demonstrations are identified only up to scale (and a shift), so
/// the labels and the anchor would pull in incomparable units; network objectives read observations and take no
/// feature states. Results: <c>analysis/goal-regression/AGENT/VARIANT/kK/…</c> and <c>…/AGENT/cost/OPERATION/…</c>
/// (<see cref="ShiftAnalysisResults"/>).
/// </remarks>
public sealed class GoalRegressionAnalysis : IShiftAnalysis
{
    /// <summary>The objectives it applies to.</summary>
    public static IReadOnlyList<string> Objectives { get; } =
        [.. ShiftObjective.All.Where(o => o.Signal == ObjectiveSignal.Reward && o.Form != ObjectiveForm.Net && o.Input == ObjectiveInput.Features).Select(o => o.Id)];

    /// <inheritdoc/>
    public string Name => "goal-regression";

    /// <inheritdoc/>
    public bool AppliesTo(ShiftAgent agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent.Objective is { Card.IsLinear: true } && agent.Planner is not null && Objectives.Contains(agent.ObjectiveId);
    }

    /// <inheritdoc/>
    public void Run(ShiftAnalysisContext context, ShiftAgent agent)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(agent);
        var data = context.Data ?? throw new InvalidOperationException("goal regression needs the objectives' training data");
        var sizes = context.Settings.AnalysisSizes;
        var settings = LabControl.Regression(sizes.LabelBudgets, sizes.RegressionSteps, (long)context.DeriveSeed(Name, "training"), context.DeriveSeed(Name, "labels"));
        var result = LabControl.ForCard(MazeFamily.Instance, agent.Name, agent.Objective!.Card, data, o => context.Settings.Planner(agent.Planner!, o), context.Levels, settings);
        ShiftAnalysisResults.AddControl(context, ShiftAnalysisResults.Prefix(Name, agent.Name), result, withVariant: true);
    }
}

/// <summary>
/// Control at matched cost, the learned optimizer's side: the policy fine-tuned by PPO on k·<c>steps_per_label</c> steps
/// of maze/test for each k of <c>label_budgets</c> (<see cref="PolicyFineTuning"/>: a copy, the cell's policy unchanged),
/// measured on the cell's levels, and the policy's cost rows (<see cref="LabControl.ForPolicy"/>: inspect by probes on
/// <c>probe_levels</c> maze/test levels, regress by the largest k, edit by the cheese vector at the cell's steer point
/// from the cell's steer levels, ×<c>steer_scale</c>).
/// </summary>
/// <remarks>Results: <c>analysis/fine-tuning/AGENT/kK/…</c> and <c>…/AGENT/cost/OPERATION/…</c> (<see cref="ShiftAnalysisResults"/>).</remarks>
public sealed class FineTuningAnalysis : IShiftAnalysis
{
    /// <inheritdoc/>
    public string Name => "fine-tuning";

    /// <inheritdoc/>
    public bool AppliesTo(ShiftAgent agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent.Policy is not null;
    }

    /// <inheritdoc/>
    public void Run(ShiftAnalysisContext context, ShiftAgent agent)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(agent);
        var s = context.Settings;
        var policy = agent.Policy!;
        var test = MazeFamily.Instance.Typed("maze/test", context.TestParameters);
        var steerLevels = context.LevelSeeds("steer", s.SteerLevels).Select(test.Level).ToArray();
        var result = LabControl.ForPolicy(agent.Name, policy, context.Levels,
            new FineTuneSettings(s.AnalysisSizes.LabelBudgets, s.AnalysisSizes.StepsPerLabel, LabControl.FineTunePpo, context.DeriveSeed(Name, "ppo")),
            context.LevelSeeds("probe", s.AnalysisSizes.ProbeLevels), Retargeting.SteerPoint(policy), steerLevels, s.SteerScale,
            ProbeSettings.Default(context.DeriveSeed(Name, "probes")));
        ShiftAnalysisResults.AddControl(context, ShiftAnalysisResults.Prefix(Name, agent.Name), result, withVariant: false);
    }
}

/// <summary>
/// The revealed objective of each policy (<see cref="RevealedObjective"/>): a linear card over the named features fitted by
/// MaxEnt IRL to the policy's own greedy episodes on <c>revealed_levels</c> maze/train and maze/test levels of the cell's
/// seed, and how much of its behaviour that card explains on the cell's measured levels, beside the reference objectives
/// (the true reward, the corner) as baselines; the planner over it is the config's first.
/// </summary>
/// <remarks>
/// Results: <c>analysis/revealed-objective/AGENT/card/FEATURE</c> (the card's weights, in the features' own units),
/// <c>…/AGENT/demonstrations</c>, and per objective (<c>revealed</c>, <c>true</c>, <c>corner</c>) and distribution
/// <c>…/AGENT/OBJECTIVE/DIST/same_ending</c> (a rate), <c>optimal_actions</c> (the mean over levels of the share of the
/// policy's actions optimal under the objective) and <c>actions</c>.
/// </remarks>
public sealed class RevealedObjectiveAnalysis : IShiftAnalysis
{
    /// <inheritdoc/>
    public string Name => "revealed-objective";

    /// <inheritdoc/>
    public bool AppliesTo(ShiftAgent agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent.Policy is not null;
    }

    /// <inheritdoc/>
    public void Run(ShiftAnalysisContext context, ShiftAgent agent)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(agent);
        var s = context.Settings;
        var levels = context.Levels;
        var fitOn = levels with { TrainSeeds = context.LevelSeeds("revealed-train", s.AnalysisSizes.RevealedLevels), TestSeeds = context.LevelSeeds("revealed-test", s.AnalysisSizes.RevealedLevels) };
        var planner = s.Planners[0];
        var result = RevealedObjective.Fit(MazeFamily.Instance, agent.Name, agent.Lanes, fitOn, levels, o => s.Planner(planner, o), new MaxEntIrlOptions());
        var prefix = ShiftAnalysisResults.Prefix(Name, agent.Name);
        for (var i = 0; i < result.Card.Features.Length; i++)
        {
            context.Results.Add($"{prefix}/card/{result.Card.Features[i]}", result.Card.Weights[i]);
        }
        context.Results.Add(prefix + "/demonstrations", result.Demonstrations);
        foreach (var explained in result.Explained)
        {
            var name = $"{prefix}/{ShiftAnalysisResults.Part(explained.Objective)}/{explained.Distribution}";
            context.Results.Add(name + "/same_ending", explained.SameEnding).Add(name + "/optimal_actions", explained.OptimalActions.Mean).Add(name + "/actions", explained.Actions);
        }
        context.Run.Run.Log(string.Create(CultureInfo.InvariantCulture, $"{agent.Name}: revealed objective fitted in {result.Seconds:F1} s\n{result.Card.Describe()}"));
    }
}

/// <summary>
/// Signatures of learned planning (<see cref="PlanningSignatures"/>): ridge probes for the cheese cell and the next
/// 1, 4 and 8 actions from each hook point of a policy and from the observation, on its greedy episodes on <c>probe_levels</c>
/// maze/test levels of the cell's seed (a quarter held out); and, as the control, the same probes from each hidden layer
/// of a network objective over the observation, on the episodes of the hard-coded agent that plans over it (it has nothing to
/// plan with). The linear form over the observation has no hidden layer, and the net over the features is not probed.
/// </summary>
/// <remarks>Results: <c>analysis/probes/AGENT/POINT/TARGET/held_out_accuracy</c>, <c>by_level</c> (the mean over held-out levels),
/// <c>majority</c> (the majority-class baseline) and <c>held_out_rows</c>; TARGET is <c>cheese_cell</c> or <c>action_K</c>.</remarks>
public sealed class ProbeAnalysis : IShiftAnalysis
{
    /// <inheritdoc/>
    public string Name => "probes";

    /// <inheritdoc/>
    public bool AppliesTo(ShiftAgent agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        return agent.Policy is not null || (agent.Objective?.Module is NetObjectiveForm { Input: ObjectiveInput.Observation, Hidden.Length: > 0 } && agent.Planner is not null);
    }

    /// <inheritdoc/>
    public void Run(ShiftAnalysisContext context, ShiftAgent agent)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(agent);
        var family = MazeFamily.Instance;
        var seeds = context.LevelSeeds("probe", context.Settings.AnalysisSizes.ProbeLevels);
        var settings = ProbeSettings.Default(context.DeriveSeed(Name, "split"));
        IReadOnlyList<LevelTarget<MazeState>> targets = [PlanningSignatures.CheeseCell(context.Settings.Size)];
        var rows = agent.Policy is { } policy
            ? PlanningSignatures.ProbePolicy(family, agent.Name, policy, "maze/test", context.TestParameters, seeds, context.EvaluationSeed, targets, settings)
            : PlanningSignatures.ProbeNetworkObjective(family, agent.Name, context.Settings.Planner(agent.Planner!, agent.Objective!.ForAgent<MazeState>(agent.Name)),
                (NetObjectiveForm)agent.Objective.Module!, "maze/test", context.TestParameters, seeds, context.EvaluationSeed, targets, settings);
        var prefix = ShiftAnalysisResults.Prefix(Name, agent.Name);
        foreach (var row in rows)
        {
            var name = $"{prefix}/{row.Point}/{ShiftAnalysisResults.Part(row.Target)}";
            context.Results.Add(name + "/held_out_accuracy", row.HeldOutAccuracy).Add(name + "/by_level", row.ByLevel.Mean)
                .Add(name + "/majority", row.MajorityBaseline).Add(name + "/held_out_rows", row.HeldOutRows);
        }
    }
}
