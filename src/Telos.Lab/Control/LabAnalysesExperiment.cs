using System.Globalization;
using System.Text;
using System.Text.Json;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Signatures;
using Telos.Learning.Objectives;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using Telos.Objectives;
using Telos.Planning;
using Telos.Statistics;

namespace Telos.Lab.Control;

/// <summary>Settings of <see cref="LabAnalysesExperiment"/>.</summary>
/// <param name="Policy">A PPO run directory (its newest checkpoint) or a checkpoint file.</param>
/// <param name="StepLimit">Every agent's step limit.</param>
/// <param name="Levels">Levels per distribution every agent is measured on.</param>
/// <param name="FitLevels">maze/train levels the card and the network objective learn from (random walks).</param>
/// <param name="IrlLevels">Levels per distribution of the policy's episodes the revealed card is fitted to.</param>
/// <param name="ProbeLevels">maze/test levels whose episodes the probes read.</param>
/// <param name="StepsPerLabel">Fine-tuning steps per label (1: the matched amount).</param>
/// <param name="Planner">The hard-coded optimizer.</param>
public sealed record LabAnalysesSettings(string Policy, int StepLimit, int Levels, int FitLevels, int IrlLevels, int ProbeLevels, int StepsPerLabel, string Planner);

/// <summary>What <see cref="LabAnalysesExperiment"/> measured; written to <c>results.json</c>.</summary>
public sealed record LabAnalysesResults(string LearnedCard, IReadOnlyList<CurvePoint> Regression, IReadOnlyList<CurvePoint> FineTuning, IReadOnlyList<CostRow> Costs,
    RevealedObjectiveResult Revealed, IReadOnlyList<ProbeRow> PolicyProbes, IReadOnlyList<ProbeRow> NetworkProbes, IReadOnlyList<ThinkingRow> Thinking);

/// <summary>
/// The per-agent analyses of the lab on one trained PPO policy and one seed: control at matched cost
/// (the card's goal-regression k-curve, the policy's fine-tuning, the cost table), the policy's revealed
/// objective, and the signatures of learned planning (probes, with the network objective as control;
/// thinking steps). A small, single-cell run of what the maze-shift experiment calls per agent and seed.
/// </summary>
public sealed class LabAnalysesExperiment : Experiment<LabAnalysesSettings>
{
    public override string Kind => "lab-analyses";

    public override string Description => "Control at matched cost, the revealed objective and the signatures of learned planning, for one trained PPO policy and one seed.";

    public override LabAnalysesSettings Configure(ConfigTable config) => new(
        config.GetString("policy", ""),
        config.GetInt("step_limit", 60, 1, 100_000),
        config.GetInt("levels", 200, 2, 100_000),
        config.GetInt("fit_levels", 200, 1, 100_000),
        config.GetInt("irl_levels", 50, 1, 10_000),
        config.GetInt("probe_levels", 100, 2, 10_000),
        config.GetInt("steps_per_label", 1, 1, 100_000),
        config.GetString("planner", "bfs", ["bfs", "vi"]));

    public override int Run(ExperimentContext context, LabAnalysesSettings settings)
    {
        var run = context.Run;
        void Stage(int done, string what)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            context.Progress.Report(new ProgressUpdate(Kind, done, 6, what));
            run.Log(what);
        }
        var checkpoint = string.IsNullOrWhiteSpace(settings.Policy)
            ? throw new TelosInputException("policy: give a PPO run directory or checkpoint file (--set 'policy=\"DIR\"')")
            : PolicyCheckpoints.FindAt(settings.Policy);
        var (policy, metadata) = PolicyCheckpoints.Load(checkpoint);
        using (policy)
        {
            var size = metadata.Parameters["size"];
            var family = MazeFamily.Instance;
            var parameters = DistributionParameters.Of(("size", size), ("step_limit", settings.StepLimit));
            var seed = (ulong)context.Seed;
            long[] Seeds(string name, int count) => [.. Enumerable.Range(0, count).Select(i => Telos.Randomness.Seeds.DeriveLong(seed, $"lab/{name}/{i}") % 1_000_000_000_000L)];
            var levels = new AnalysisLevels(parameters, Seeds("train", settings.Levels), Seeds("test", settings.Levels), Telos.Randomness.Seeds.Derive(seed, "lab/evaluation"));
            var budget = PlanBudget.Default with { TieTolerance = 0.01 };
            IAgent<MazeState> Planner(AgentObjective<MazeState> objective) => new PlanningAgent<MazeState>(Planners.Create(settings.Planner, family), objective, budget);
            var policyName = "ppo " + metadata.Architecture.Kind.ToString().ToLowerInvariant();

            Stage(0, "reward regression on maze/train: the sparse card and the network objective");
            var train = family.Typed("maze/train", parameters);
            var data = TransitionSample.Collect<MazeState>(s => train.Level(s), settings.FitLevels, 200, seed: Telos.Randomness.Seeds.Derive(seed, "lab/walk"),
                firstSeed: Seeds("walks", 1)[0], uniformStarts: true);
            var (card, _) = ObjectiveTrainer.FitRewards(ObjectiveForm.Sparse, data, "maze/train", new FormOptions(Keep: 2), new TrainingOptions(Steps: 400, Seed: context.DeriveSeed("fit")));
            var observed = TransitionSample.Collect<MazeState>(s => train.Level(s), 30, 200, seed: Telos.Randomness.Seeds.Derive(seed, "lab/walk"),
                firstSeed: Seeds("walks", 1)[0], uniformStarts: true, observations: true);
            var (netCard, netModule) = ObjectiveTrainer.FitRewards(ObjectiveForm.Net, observed, "maze/train", new FormOptions(), new TrainingOptions(Steps: 400, LearningRate: 0.01, Seed: context.DeriveSeed("fit-net")));

            Stage(1, "control: the card's goal-regression k-curve");
            var cardControl = LabControl.ForCard(family, $"{settings.Planner} + card", card, data, Planner, levels,
                LabControl.Regression(RegressionCurveSettings.DefaultBudgets, 1600, context.DeriveSeed("goal"), Telos.Randomness.Seeds.Derive(seed, "lab/labels")));

            Stage(2, "control: the policy's fine-tuning on matched shifted experience, and the cost table");
            var test = family.Typed("maze/test", parameters);
            var policyControl = LabControl.ForPolicy(policyName, policy, levels,
                new FineTuneSettings(RegressionCurveSettings.DefaultBudgets, settings.StepsPerLabel, LabControl.FineTunePpo, Telos.Randomness.Seeds.Derive(seed, "lab/fine-tune")),
                Seeds("probe", settings.ProbeLevels), GridEncoder.LinearPoint, [.. Seeds("steer", 12).Select(s => test.Level(s))], 1.0,
                ProbeSettings.Default(Telos.Randomness.Seeds.Derive(seed, "lab/probe-cost")));
            var (regression, fineTuning) = (cardControl.Curve, policyControl.Curve);
            var costs = cardControl.Costs.Concat(policyControl.Costs).ToList();

            Stage(3, "the revealed objective of the policy (MaxEnt IRL on its own episodes)");
            var fitOn = levels with { TrainSeeds = Seeds("irl-train", settings.IrlLevels), TestSeeds = Seeds("irl-test", settings.IrlLevels) };
            using var lanes = new PolicyAgent<MazeState>(policy, 32, policyName);
            var revealed = RevealedObjective.Fit(family, policyName, lanes, fitOn, levels, Planner, new MaxEntIrlOptions());

            Stage(4, "signatures of learned planning: probes and thinking steps");
            var probeSettings = ProbeSettings.Default(Telos.Randomness.Seeds.Derive(seed, "lab/probes"));
            var probeSeeds = Seeds("probe", settings.ProbeLevels);
            var policyProbes = PlanningSignatures.ProbePolicy(family, policyName, policy, "maze/test", parameters, probeSeeds, levels.EvaluationSeed, [PlanningSignatures.CheeseCell(size)], probeSettings);
            var net = LoadedObjective.Of(netCard, netModule);
            var networkProbes = PlanningSignatures.ProbeNetworkObjective(family, $"{settings.Planner} + net", Planner(net.ForAgent<MazeState>("net")), (NetObjectiveForm)netModule,
                "maze/test", parameters, probeSeeds, levels.EvaluationSeed, [PlanningSignatures.CheeseCell(size)], probeSettings);
            var thinking = PlanningSignatures.ThinkingCurve(family, policyName, policy, levels, PlanningSignatures.DefaultThinkingSteps);

            Stage(5, "writing results.json and report.md");
            var results = new LabAnalysesResults(card.Describe(), regression, fineTuning, costs, revealed, policyProbes, networkProbes, thinking);
            run.WriteArtifact("results.json", JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true, IncludeFields = true }));
            run.WriteReport(Report(settings, checkpoint.TensorPath, results));
        }
        return 0;
    }

    private static string Pct(Rate r)
    {
        var (low, high) = r.Interval;
        return string.Create(CultureInfo.InvariantCulture, $"{r} ({r.Value * 100:F0} %, {low * 100:F0}–{high * 100:F0})");
    }

    private static string Mean(MeanInterval m) => string.Create(CultureInfo.InvariantCulture, $"{m.Mean:F2} ({m.Low:F2}–{m.High:F2})");

    /// <summary>The report: one table per analysis.</summary>
    public static string Report(LabAnalysesSettings settings, string policy, LabAnalysesResults r)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"# Lab analyses of `{policy}`\n\n{settings.Levels} levels per distribution; planner {settings.Planner}; 95 % Wilson intervals over levels unless noted.\n");
        sb.AppendLine("## Control: goal regression (card) and fine-tuning (policy)\n\n| agent | variant | k | goal labels | proxy labels | distribution | success | proxy | gradient steps | env steps | seconds |\n|---|---|---:|---:|---:|---|---|---|---:|---:|---:|");
        foreach (var p in r.Regression.Concat(r.FineTuning))
        {
            sb.AppendLine(inv, $"| {p.Agent} | {p.Variant} | {p.Budget} | {p.GoalLabels} | {p.ProxyLabels} | {p.Summary.Distribution} | {Pct(p.Summary.Success)} | {Pct(p.Summary.Proxy)} | {p.Cost.GradientSteps} | {p.Cost.EnvironmentSteps} | {p.Cost.Seconds:F2} |");
        }
        sb.AppendLine("\n## Cost table\n\n| agent | operation | what | labels | gradient steps | env steps | seconds | maze/test success after |\n|---|---|---|---:|---:|---:|---:|---|");
        foreach (var c in r.Costs)
        {
            sb.AppendLine(inv, $"| {c.Agent} | {c.Operation} | {c.What} | {c.Cost.Labels} | {c.Cost.GradientSteps} | {c.Cost.EnvironmentSteps} | {c.Cost.Seconds:F3} | {(c.Success is { } s ? Pct(s) : "–")} |");
        }
        sb.AppendLine(inv, $"\n## The revealed objective of {r.Revealed.Agent} ({r.Revealed.Demonstrations} episodes, {r.Revealed.Seconds:F1} s)\n\n```\n{r.Revealed.Card.Describe()}\n```\n\nThe hard-coded agent's card, read off:\n\n```\n{r.LearnedCard}\n```\n");
        sb.AppendLine("| objective | distribution | same ending (held-out levels) | share of optimal actions (t interval over levels) | actions |\n|---|---|---|---|---:|");
        foreach (var e in r.Revealed.Explained)
        {
            sb.AppendLine(inv, $"| {e.Objective} | {e.Distribution} | {Pct(e.SameEnding)} | {Mean(e.OptimalActions)} | {e.Actions} |");
        }
        sb.AppendLine("\n## Signatures: probes on held-out maze/test levels (per-level mean, 95 % t interval over held-out levels)\n\n| agent | point | target | width | held-out accuracy | by level | majority |\n|---|---|---|---:|---:|---|---:|");
        foreach (var p in r.PolicyProbes.Concat(r.NetworkProbes))
        {
            sb.AppendLine(inv, $"| {p.Agent} | {p.Point} | {p.Target} | {p.Width} | {p.HeldOutAccuracy:F3} | {Mean(p.ByLevel)} | {p.MajorityBaseline:F3} |");
        }
        sb.AppendLine("\n## Thinking steps\n\n| agent | thinking steps | distribution | success | proxy |\n|---|---:|---|---|---|");
        foreach (var t in r.Thinking)
        {
            sb.AppendLine(inv, $"| {t.Agent} | {t.ThinkingSteps} | {t.Summary.Distribution} | {Pct(t.Summary.Success)} | {Pct(t.Summary.Proxy)} |");
        }
        return sb.ToString();
    }
}
