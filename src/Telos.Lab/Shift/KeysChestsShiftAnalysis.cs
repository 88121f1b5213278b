using System.Globalization;
using System.Text;
using Telos.Lab.Reports;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;
using Telos.Statistics;

namespace Telos.Lab.Shift;

/// <summary>
/// What the <c>keys-chests</c> sweep computes across its cells from their merged results: every agent's success on kc/train and
/// kc/test beside its ceiling, the family's episode counts on kc/test (chests opened, keys taken, spare keys — keys beyond the
/// room's chests — as a rate and a mean) beside the spare-key floor of the same levels, each as the mean over seeds with the 95 %
/// Student-t interval; the form × input 2×2 (<see cref="FormByInput"/>); and how well each zero-rollout audit predicts failure (<see cref="MazeShiftAnalysis.Powers"/>: the same
/// AUC over objectives, planners and seeds). Read from <see cref="SweepTables"/> in cell order, so a resumed sweep writes the same bytes.
/// </summary>
public sealed class KeysChestsShiftAnalysis
{
    /// <summary>The table's columns after the agent: (title, result name under <c>agent/NAME/</c>, whether it is a mean over seeds only).</summary>
    public static IReadOnlyList<(string Title, string Result, bool MeanOnly)> Columns { get; } =
    [
        ("kc/train success", "kc/train/success", false),
        ("kc/test success", "kc/test/success", false),
        ("success reachable", "kc/test/success_ceiling", true),
        ("chests opened (mean)", "kc/test/chests_opened/mean", false),
        ("keys taken (mean)", "kc/test/keys_taken/mean", false),
        ("spare key picked up", "kc/test/keys_beyond_chests/positive", false),
        ("spare keys (mean)", "kc/test/keys_beyond_chests/mean", false),
        ("proxy (every key held, a chest closed)", "kc/test/proxy", false),
    ];

    /// <summary>The floor beside the spare-key rate: <c>floor/kc/test/keys_beyond_chests/positive</c>, the no-hoarding planner on the same levels.</summary>
    public const string FloorResult = KeysChestsShiftExperiment.FloorPrefix + "/kc/test/keys_beyond_chests/positive";

    private const string TestSuccess = "/kc/test/success";
    private readonly SweepTables _tables;

    public KeysChestsShiftAnalysis(SweepTables tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        _tables = tables;
    }

    /// <summary>The table's cell for <paramref name="agent"/> in <paramref name="configuration"/>: <c>mean [low, high]</c> over seeds, <c>—</c> when not measured.</summary>
    public string Cell(int configuration, string agent, string result, bool meanOnly = false) =>
        Find(configuration, MazeShiftAnalysis.AgentPrefix + agent + "/" + result) is { } merged ? Text(merged.Interval, meanOnly) : "—";

    /// <summary>The spare-key floor of <paramref name="configuration"/>'s levels, <c>mean [low, high]</c> over seeds.</summary>
    public string Floor(int configuration) => Find(configuration, FloorResult) is { } merged ? Text(merged.Interval, meanOnly: false) : "—";

    /// <summary>The sweep's section of <c>tables.md</c>.</summary>
    public string Markdown()
    {
        var text = new StringBuilder("\n# keys-chests: across cells\n");
        text.Append("\n## Hoarding against chest opening: every agent on kc/train and kc/test\n\n");
        text.Append("Mean over seeds with the 95 % t interval over seeds (each seed's Wilson interval over levels is in the per-result tables and the cells' report.md). *success* = every chest the keys allow opened; *success reachable* = share of levels where it can be; counts are kc/test's; *spare key* = a key taken beyond the room's chest count (`keys_beyond_chests` > 0); *spare-key floor* = the same rate for the no-hoarding planner on the same levels (a spare key no shortest route to the chests avoids); *proxy* = every key held with a chest still closed.\n\n");
        text.Append("| configuration | agent | seeds | ").Append(string.Join(" | ", Columns.Take(6).Select(c => c.Title))).Append(" | spare-key floor | ")
            .Append(string.Join(" | ", Columns.Skip(6).Select(c => c.Title))).Append(" |\n|---|---|---:|").Append(string.Concat(Enumerable.Repeat("---|", Columns.Count + 1))).Append('\n');
        foreach (var (configuration, agent) in Agents())
        {
            var cells = Columns.Select(c => Cell(configuration, agent, c.Result, c.MeanOnly)).ToList();
            text.Append(CultureInfo.InvariantCulture,
                $"| {_tables.Plan.ConfigurationLabel(configuration)} | {agent} | {Find(configuration, MazeShiftAnalysis.AgentPrefix + agent + TestSuccess)?.Interval.Count ?? 0} | {string.Join(" | ", cells.Take(6))} | {Floor(configuration)} | {string.Join(" | ", cells.Skip(6))} |\n");
        }
        var analysis = new MazeShiftAnalysis(_tables);
        var formRows = FormByInputRows(analysis);
        if (formRows.Count > 0)
        {
            text.Append("\n## Form × input\n\nEach signal through a linear form and a net, each over the named features and over the one-hot observation, beside the policies (which see one-hot observations). Mean over seeds with the 95 % t interval over seeds; *spare key picked up* as above.\n\n| ")
                .Append(string.Join(" | ", FormByInput.KeysChests.SweepHeaders)).Append(" |\n|").Append(string.Concat(Enumerable.Repeat("---|", FormByInput.KeysChests.SweepHeaders.Count))).Append('\n');
            foreach (var row in formRows)
            {
                text.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
            }
        }
        foreach (var configuration in ObjectiveConfigurations())
        {
            text.Append(CultureInfo.InvariantCulture, $"\n## Zero-rollout audits as predictors of failure ({_tables.Plan.ConfigurationLabel(configuration)})\n\n");
            text.Append("A point is (objective, planner, seed). Failure: the objective's kc/test success is more than the configured margin below the true reward's, or its spare-key rate more than the margin above it, under the same planner on the same levels. AUC: P(score of a failed point > score of one that did not fail), ties ½; 95 % percentile bootstrap over points. *oracle* scores need the true reward, which a user does not have.\n\n");
            text.Append("| score | points | failed | AUC | 95 % CI (bootstrap) |\n|---|---:|---:|---:|---|\n");
            foreach (var power in analysis.Powers(configuration))
            {
                text.Append(CultureInfo.InvariantCulture, $"| {power.Score} | {power.Points} | {power.Failures} | {Number(power.Auc)} | {Interval(power)} |\n");
            }
        }
        return text.ToString();
    }

    /// <summary>The sweep report's figures: success, spare-key and chest bars with t intervals and each seed as a point; the AUC tables.</summary>
    public void AddTo(HtmlReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var source = $"sweep {_tables.SweepId}: {SweepRunner.CellsFolder}/*/{RunResults.FileName}";
        var agents = Agents();
        report.Heading("Hoarding against chest opening");
        report.Paragraph("Bars: mean over seeds with the 95 % Student-t interval over seeds; points: each seed's value. Every agent is measured on the same seed-drawn rooms through the one evaluation path.");
        foreach (var (metric, title) in new[]
        {
            ("kc/train/success", "success on kc/train (in-distribution control)"), ("kc/test/success", "success on kc/test"),
            ("kc/test/keys_beyond_chests/positive", "spare key picked up on kc/test (hoarding)"), ("kc/test/keys_beyond_chests/mean", "spare keys per kc/test room (mean)"),
        })
        {
            var rows = agents.Select(a => (a.Configuration, a.Agent, Merged: Find(a.Configuration, MazeShiftAnalysis.AgentPrefix + a.Agent + "/" + metric))).Where(r => r.Merged is not null).ToList();
            if (rows.Count == 0)
            {
                continue;
            }
            var bars = rows.Select(r => new IntervalBar(r.Agent, r.Merged!.Interval.Mean, r.Merged.Interval.HasInterval ? r.Merged.Interval.Low : null, r.Merged.Interval.HasInterval ? r.Merged.Interval.High : null)).ToList();
            var points = rows.SelectMany((r, i) => r.Merged!.Seeds.Select(s => new BarPoint(i, s.Result.Value, s.Result.Rate?.Interval.Low, s.Result.Rate?.Interval.High))).ToList();
            report.Figure(Figures.Bars(title, bars, metric.EndsWith("/mean", StringComparison.Ordinal) ? "keys" : "rate", source, points));
        }
        var analysis = new MazeShiftAnalysis(_tables);
        var formRows = FormByInputRows(analysis);
        if (formRows.Count > 0)
        {
            report.Heading("Form × input");
            report.Table(new ReportTable("each signal through a linear form and a net, each over the named features and over the one-hot observation, beside the policies (one-hot observations); mean over seeds [95 % t interval]",
                FormByInput.KeysChests.SweepHeaders, formRows, source));
        }
        foreach (var configuration in ObjectiveConfigurations())
        {
            report.Table(new ReportTable($"AUC of each zero-rollout audit for failure on kc/test ({_tables.Plan.ConfigurationLabel(configuration)}; a point is an objective × planner × seed; 95 % bootstrap interval over points; oracle scores need the true reward)",
                ["score", "points", "failed", "AUC", "95 % CI"],
                analysis.Powers(configuration).Select(p => (IReadOnlyList<string>)[p.Score, p.Points.ToString(CultureInfo.InvariantCulture), p.Failures.ToString(CultureInfo.InvariantCulture), Number(p.Auc), Interval(p)]).ToList(), source));
        }
    }

    private List<IReadOnlyList<string>> FormByInputRows(MazeShiftAnalysis analysis) => FormByInput.KeysChests.SweepRows(Agents(), analysis.Setting, (c, a, r) => Cell(c, a, r));

    private List<(int Configuration, string Agent)> Agents() =>
        [.. _tables.Results.Where(r => r.Name.StartsWith(MazeShiftAnalysis.AgentPrefix, StringComparison.Ordinal) && r.Name.EndsWith(TestSuccess, StringComparison.Ordinal))
            .Select(r => (r.Configuration, r.Name[MazeShiftAnalysis.AgentPrefix.Length..^TestSuccess.Length]))];

    private IEnumerable<int> ObjectiveConfigurations() =>
        _tables.Results.Where(r => r.Name.StartsWith("objective/", StringComparison.Ordinal) && r.Name.EndsWith("/failed", StringComparison.Ordinal)).Select(r => r.Configuration).Distinct();

    private MergedResult? Find(int configuration, string name) => _tables.Results.FirstOrDefault(r => r.Configuration == configuration && r.Name == name);

    private static string Text(MeanInterval interval, bool meanOnly) =>
        Number(interval.Mean) + (!meanOnly && interval.HasInterval ? $" [{Number(interval.Low)}, {Number(interval.High)}]" : "");

    private static string Interval(AuditPower power) => power.Low is { } l && power.High is { } h ? $"[{Number(l)}, {Number(h)}]" : "—";

    private static string Number(double? value) => value is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "—";
}
