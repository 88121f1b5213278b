using System.Globalization;
using Telos.Agents;
using Telos.Lab.Reports;
using Telos.Lab.Runs;
using Telos.Learning.Reinforcement;

namespace Telos.Lab.Reinforcement;

/// <summary>The <c>results.json</c> and <c>report.html</c> of a <see cref="PpoExperiment"/> run: learning curves from its metrics, success and proxy with Wilson intervals.</summary>
internal static class PpoRunReport
{
    public static void Write(RunDirectory run, PpoExperimentSettings settings, IReadOnlyList<EvaluationSummary> evaluations)
    {
        var results = new RunResults();
        foreach (var evaluation in evaluations)
        {
            EvaluationReport.AddTo(results, evaluation);
        }
        run.WriteResults(results);

        var metrics = run.ReadMetrics();
        var source = $"run {run.Id}: metrics.csv";
        var report = new HtmlReport($"ppo {run.Id}");
        report.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"{settings.Policy.Kind} policy trained by PPO on {settings.Env} ({settings.Parameters}), seed {run.Record.Seed}; greedy evaluation on {evaluations.Count} distribution(s), {settings.EvalEpisodes} levels each."));
        report.Heading("Learning curves");
        foreach (var (title, keys) in new[]
        {
            ("episodic return", new[] { PpoMetricKeys.EpisodicReturn }),
            ("losses", new[] { PpoMetricKeys.ValueLoss, PpoMetricKeys.PolicyLoss }),
            ("entropy", new[] { PpoMetricKeys.Entropy }),
        })
        {
            if (metrics.Any(r => keys.Any(r.Values.ContainsKey)))
            {
                report.Figure(Figures.LearningCurves(title, metrics, keys, source, "environment steps"));
            }
        }
        report.Heading("Evaluation");
        report.Figure(EvaluationReport.Bars("success and proxy pursuit", evaluations, $"run {run.Id}: {RunResults.FileName}"));
        report.Table(EvaluationReport.Table("greedy evaluation", evaluations, $"run {run.Id}: {RunResults.FileName}"));
        run.WriteHtmlReport(report);
    }
}
