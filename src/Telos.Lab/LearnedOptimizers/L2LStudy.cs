using System.Globalization;
using System.Text;
using System.Text.Json;
using Telos.Lab.Experiments;
using Telos.Learning.LearnedOptimizers;
using Telos.Learning.Native;
using Telos.Randomness;
using TorchSharp;

namespace Telos.Lab.LearnedOptimizers;

/// <summary>One optimizer's numbers at one step of the test curves.</summary>
public sealed record StepSummary(int Step, double Mean, double CiLow, double CiHigh);

/// <summary>One optimizer's results on the test problems.</summary>
/// <param name="Optimizer">Name with its learning rate.</param>
/// <param name="LearningRate">Tuned learning rate (null for the LSTM).</param>
/// <param name="BestIsInterior">Whether the tuned rate lies strictly inside the grid (null for the LSTM).</param>
/// <param name="AtSteps">Mean and 95 % CI at the report steps.</param>
public sealed record OptimizerSummary(string Optimizer, double? LearningRate, bool? BestIsInterior, IReadOnlyList<StepSummary> AtSteps);

/// <summary>LSTM loss minus a baseline's at one step, paired over the same test problems (see <see cref="LossCurves.PairedDifference"/>).</summary>
public sealed record PairedStep(int Step, double Mean, double CiLow, double CiHigh, double ShareLstmLower);

/// <summary>The paired LSTM − baseline comparison at the report steps.</summary>
public sealed record PairedSummary(string Baseline, IReadOnlyList<PairedStep> AtSteps);

/// <summary>
/// The shared body of the L2L experiments: meta-train (or reuse) the LSTM optimizer, tune the baselines'
/// learning rates on tuning problems, run everything on the same fresh test problems, and write
/// <c>curves.csv</c>, <c>summary.json</c>, <c>loss.png</c>, <c>optimizer.l2l</c> and <c>report.md</c>.
/// <paramref name="trainingCode"/> names the training code in the reuse cache's key (<see cref="L2LTrainingCache.CodeIdentity"/>).
/// </summary>
internal sealed class L2LStudy(ExperimentContext context, L2LSettings settings, IOptimizeeTask trainTask, IOptimizeeTask evalTask, string title, string trainingCode)
{
    public int Run()
    {
        var run = context.Run;
        var seed = context.Seed;
        var network = new CoordinatewiseLstm(settings.Optimizer, context.DeriveSeed("l2l/init"));
        var cachePath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(run.Path))!, L2LTrainingCache.Folder, L2LTrainingCache.FileName(settings, trainTask.Name, context.Seed, trainingCode));
        using var optimizer = new LearnedOptimizer(network);
        if (settings.TrainedOptimizer.Length > 0)
        {
            using var saved = LearnedOptimizer.Load(settings.TrainedOptimizer);
            if (saved.Network.Options != settings.Optimizer)
            {
                throw new TelosInputException($"{settings.TrainedOptimizer}: saved optimizer has {saved.Network.Options}, the config's [optimizer] says {settings.Optimizer}");
            }
            network.CopyWeightsFrom(saved.Network);
            var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(settings.TrainedOptimizer)));
            run.Log($"evaluating the saved optimizer {Path.GetFullPath(settings.TrainedOptimizer)} (sha256 {hash}); no meta-training");
        }
        else if (settings.ReuseTrained && File.Exists(cachePath))
        {
            using var cached = LearnedOptimizer.Load(cachePath);
            network.CopyWeightsFrom(cached.Network);
            run.Log($"reusing the optimizer meta-trained with the same settings, seed and code ({trainingCode}): {cachePath}");
        }
        else
        {
            MetaTrain(network);
            if (settings.ReuseTrained)
            {
                optimizer.Save(cachePath);
            }
        }
        optimizer.Save(Path.Combine(run.Path, "optimizer.l2l"));
        Evaluate(network);
        return 0;
    }

    private void MetaTrain(CoordinatewiseLstm network)
    {
        var run = context.Run;
        using var trainer = new MetaTrainer(network, trainTask, settings.Meta, Seeds.Derive(context.Seed, "l2l/meta"));
        if (context.ResumeFrom is { } checkpoint)
        {
            using var loaded = run.LoadCheckpoint(checkpoint);
            trainer.RestoreCheckpoint(loaded.Tensors, loaded.MetadataAs<MetaTrainerProgress>());
            run.Log($"meta-training resumed at problem batch {trainer.ProblemsDone}, meta-step {trainer.MetaSteps}");
        }
        var started = DateTime.UtcNow;
        trainer.Train(
            progress: context.Progress,
            onMetaStep: r => run.LogMetrics(r.MetaStep, new Dictionary<string, double> { ["meta/loss"] = r.MetaLoss }),
            onValidation: v =>
            {
                run.LogMetrics(v.MetaStep, new Dictionary<string, double> { ["meta/validation_mean_loss"] = v.MeanLoss, ["meta/validation_final_loss"] = v.FinalLoss });
                run.Log($"validation after {v.Problem} problem batches ({v.MetaStep} meta-steps): mean loss {v.MeanLoss:G5}, final {v.FinalLoss:G5}{(v.Best ? " (best)" : "")}");
            },
            onProblemDone: () =>
            {
                if (trainer.ProblemsDone % settings.CheckpointEvery == 0 || trainer.Finished)
                {
                    var (tensors, progress) = trainer.CaptureCheckpoint();
                    run.SaveCheckpoint(trainer.MetaSteps, tensors, progress);
                    foreach (var t in tensors.Values)
                    {
                        t.Dispose();
                    }
                }
            },
            cancellation: context.CancellationToken);
        run.Log($"meta-training done: {trainer.ProblemsDone} problem batches, {trainer.MetaSteps} meta-steps, best validation {trainer.BestValidation:G5}, {(DateTime.UtcNow - started).TotalSeconds:F0} s");
        network.CopyWeightsFrom(trainer.Best);
    }

    private void Evaluate(CoordinatewiseLstm network)
    {
        var run = context.Run;
        var e = settings.Evaluation;
        using var test = evalTask.Sample(e.TestProblems, Seeds.Derive(context.Seed, "l2l/test"));
        using var tuning = evalTask.Sample(e.TuningProblems, Seeds.Derive(context.Seed, "l2l/tuning"));
        var grid = LearningRateSearch.LogGrid(e.LearningRateLow, e.LearningRateHigh, e.PointsPerDecade);
        var curves = new List<LossCurves>();
        var summaries = new List<OptimizerSummary>();
        var searches = new List<LearningRateSearchResult>();
        var total = e.Baselines.Count + 1;
        var done = 0;
        using (var lstm = new LstmRule(network, "LSTM"))
        {
            context.Progress.Report(new ProgressUpdate("evaluate", done, total, "LSTM"));
            curves.Add(OptimizeeRunner.Run(test, lstm, e.Steps));
            summaries.Add(Summarize(curves[^1], null, null));
            done++;
        }
        foreach (var kind in e.Baselines)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            context.Progress.Report(new ProgressUpdate("evaluate", done, total, kind.ToString()));
            var search = LearningRateSearch.Run(kind, grid, tuning, e.Steps);
            searches.Add(search);
            run.Log($"{kind}: learning-rate grid {string.Join(", ", search.Grid.Select(F))} → mean final tuning loss {string.Join(", ", search.FinalLoss.Select(F))}; best {F(search.Best)}{(search.BestIsInterior ? "" : " (AT THE EDGE of the grid)")}");
            using var rule = new BaselineRule(kind, search.Best);
            curves.Add(OptimizeeRunner.Run(test, rule, e.Steps, $"{Label(kind)} (lr {F(search.Best)})"));
            summaries.Add(Summarize(curves[^1], search.Best, search.BestIsInterior));
            done++;
        }
        context.Progress.Report(new ProgressUpdate("evaluate", done, total, "writing"));
        run.WriteArtifact("curves.csv", CurvesCsv(curves));
        var paired = curves.Skip(1).Select(baseline => new PairedSummary(baseline.Optimizer, e.ReportSteps.Select(t =>
        {
            var (mean, half, share) = curves[0].PairedDifference(baseline, t);
            return new PairedStep(t, mean, mean - half, mean + half, share);
        }).ToArray())).ToArray();
        run.WriteArtifact("summary.json", JsonSerializer.Serialize(new { title, task = evalTask.Name, test_problems = e.TestProblems, steps = e.Steps, optimizers = summaries, lstm_minus_baseline = paired, searches }, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        run.WriteArtifact("loss.png", LossCurvePlot.Png(title, curves));
        run.WriteReport(Report(summaries, paired, searches));
    }

    private OptimizerSummary Summarize(LossCurves c, double? lr, bool? interior) =>
        new(c.Optimizer, lr, interior, settings.Evaluation.ReportSteps.Select(t =>
        {
            var (mean, half) = c.MeanWithCi(t);
            return new StepSummary(t, mean, mean - half, mean + half);
        }).ToArray());

    private static string Label(BaselineKind kind) => kind switch
    {
        BaselineKind.Sgd => "SGD",
        BaselineKind.Nag => "NAG",
        BaselineKind.RmsProp => "RMSprop",
        _ => "ADAM",
    };

    private static string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);

    private static string CurvesCsv(IReadOnlyList<LossCurves> curves)
    {
        var text = new StringBuilder("step");
        foreach (var c in curves)
        {
            var name = c.Optimizer.Split(' ')[0];
            text.Append(CultureInfo.InvariantCulture, $",{name}_mean,{name}_ci_low,{name}_ci_high");
        }
        text.Append('\n');
        for (var t = 0; t <= curves[0].Steps; t++)
        {
            text.Append(t.ToString(CultureInfo.InvariantCulture));
            foreach (var c in curves)
            {
                var (mean, half) = c.MeanWithCi(t);
                text.Append(CultureInfo.InvariantCulture, $",{mean:R},{mean - half:R},{mean + half:R}");
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    private static string Ci(double mean, double low, double high) => string.Create(CultureInfo.InvariantCulture, $"{mean:G4} [{low:G4}, {high:G4}]");

    /// <summary>A Markdown table: header row (<paramref name="corner"/>, then <paramref name="columns"/>), separator, one row per label.</summary>
    private static void AppendTable(StringBuilder text, string corner, IEnumerable<string> columns, IEnumerable<(string Label, IEnumerable<string> Cells)> rows)
    {
        var headers = columns.ToList();
        text.Append(CultureInfo.InvariantCulture, $"| {corner} |");
        text.Append(string.Concat(headers.Select(h => $" {h} |")));
        text.Append("\n|---|");
        text.Append(string.Concat(headers.Select(_ => "---|")));
        text.Append('\n');
        foreach (var (label, cells) in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {label} |");
            text.Append(string.Concat(cells.Select(c => $" {c} |")));
            text.Append('\n');
        }
    }

    private string Report(IReadOnlyList<OptimizerSummary> summaries, IReadOnlyList<PairedSummary> paired, IReadOnlyList<LearningRateSearchResult> searches)
    {
        var e = settings.Evaluation;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"# {title}\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Run `{context.Run.Id}`, seed {context.Seed}. Test: {e.TestProblems} fresh problems of `{evalTask.Name}`, {e.Steps} steps; ");
        text.Append(CultureInfo.InvariantCulture, $"baselines tuned on {e.TuningProblems} other problems over a log grid {F(e.LearningRateLow)}…{F(e.LearningRateHigh)} ({e.PointsPerDecade}/decade) for the lowest mean final loss.\n\n");
        text.Append("![loss](loss.png)\n\n");
        AppendTable(
            text,
            "optimizer",
            e.ReportSteps.Select(t => $"step {t}: mean [95% CI]"),
            summaries.Select(s => (s.Optimizer, s.AtSteps.Select(a => Ci(a.Mean, a.CiLow, a.CiHigh)))));
        text.Append("\nPaired over the same test problems, LSTM loss minus the baseline's (negative: the LSTM is lower), mean [95% CI], and the share of problems where the LSTM is lower:\n\n");
        AppendTable(
            text,
            "baseline",
            e.ReportSteps.SelectMany(t => new[] { $"step {t}: LSTM − baseline", "LSTM lower" }),
            paired.Select(p => (p.Baseline, p.AtSteps.SelectMany(a => new[] { Ci(a.Mean, a.CiLow, a.CiHigh), a.ShareLstmLower.ToString("P0", CultureInfo.InvariantCulture) }))));
        var edges = searches.Where(s => !s.BestIsInterior).Select(s => Label(s.Kind)).ToList();
        text.Append(edges.Count == 0
            ? "\nEvery baseline's best learning rate lies inside its grid.\n"
            : $"\nWARNING: best learning rate at the edge of the grid for {string.Join(", ", edges)}; widen lr_low/lr_high.\n");
        return text.ToString();
    }
}
