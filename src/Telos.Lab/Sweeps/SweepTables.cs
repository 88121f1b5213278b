using System.Globalization;
using System.Text;
using Telos.Lab.Reports;
using Telos.Lab.Runs;
using Telos.Statistics;

namespace Telos.Lab.Sweeps;

/// <summary>One seed's value of a result in one configuration.</summary>
/// <param name="Cell">The cell it came from.</param>
/// <param name="Result">The value (and rate, if it is one).</param>
public sealed record SeedValue(SweepCell Cell, RunResult Result);

/// <summary>One result of one configuration, merged over its seeds.</summary>
/// <param name="Configuration">The configuration's index.</param>
/// <param name="Name">The result's name.</param>
/// <param name="Seeds">The seeds that reported it, in seed order of the sweep.</param>
/// <param name="Interval">Mean over those seeds with its 95 % t interval; for a rate (every seed's value a <see cref="Telos.Agents.Rate"/>) clipped to [0, 1].</param>
public sealed record MergedResult(int Configuration, string Name, IReadOnlyList<SeedValue> Seeds, MeanInterval Interval);

/// <summary>A cell that did not produce results, and why.</summary>
public sealed record CellFailure(SweepCell Cell, string Message);

/// <summary>
/// A sweep's cells merged into tables: per configuration and result, the mean over seeds with a 95 %
/// Student-t interval over seeds, beside each seed's own value and (for rates) its 95 % Wilson interval
/// over levels. Everything is ordered by cell index (configuration, then seed), never by when cells finished,
/// so an interrupted and resumed sweep gives the same bytes as an uninterrupted one.
/// </summary>
public sealed class SweepTables
{
    private SweepTables(string sweepId, SweepPlan plan, IReadOnlyList<string> names, IReadOnlyList<MergedResult> merged, IReadOnlyList<CellFailure> failures)
    {
        SweepId = sweepId;
        Plan = plan;
        Names = names;
        Results = merged;
        Failures = failures;
    }

    public string SweepId { get; }

    public SweepPlan Plan { get; }

    /// <summary>Result names, in order of first appearance over the cells by index.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Configuration-major, then by <see cref="Names"/>; a configuration without any seed for a name has no entry.</summary>
    public IReadOnlyList<MergedResult> Results { get; }

    /// <summary>Cells without results, by index.</summary>
    public IReadOnlyList<CellFailure> Failures { get; }

    /// <summary>Reads every cell's <c>results.json</c> under <paramref name="sweepDirectory"/> and merges them.</summary>
    public static SweepTables Merge(string sweepId, string sweepDirectory, SweepPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var results = new List<(SweepCell Cell, RunResults Results)>();
        var failures = new List<CellFailure>();
        foreach (var cell in plan.Cells)
        {
            var dir = SweepRunner.CellDirectory(sweepDirectory, cell);
            if (SweepRunner.State(sweepDirectory, cell) == CellState.Done && SweepRunner.TryReadResults(dir) is { } read)
            {
                results.Add((cell, read));
            }
            else
            {
                failures.Add(new CellFailure(cell, SweepRunner.FailureMessage(dir, null)));
            }
        }
        return Merge(sweepId, plan, results, failures);
    }

    /// <summary>Merges results given in any order (they are sorted by cell index first).</summary>
    public static SweepTables Merge(string sweepId, SweepPlan plan, IEnumerable<(SweepCell Cell, RunResults Results)> cells, IEnumerable<CellFailure> failures)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var ordered = cells.OrderBy(c => c.Cell.Index).ToList();
        var names = new List<string>();
        foreach (var (_, results) in ordered)
        {
            foreach (var item in results.Items)
            {
                if (!names.Contains(item.Name, StringComparer.Ordinal))
                {
                    names.Add(item.Name);
                }
            }
        }
        var merged = new List<MergedResult>();
        for (var c = 0; c < plan.Configurations; c++)
        {
            foreach (var name in names)
            {
                var seeds = ordered
                    .Where(o => o.Cell.Configuration == c)
                    .SelectMany(o => o.Results.Items.Where(i => i.Name == name).Select(i => new SeedValue(o.Cell, i)))
                    .ToList();
                if (seeds.Count > 0)
                {
                    var interval = MeanInterval.Of(seeds.Select(s => s.Result.Value).ToArray());
                    // A rate's interval is clipped to [0, 1]: the t interval is symmetric and can reach past it.
                    merged.Add(new MergedResult(c, name, seeds, seeds.All(s => s.Result.Rate is not null) ? interval.ClippedTo(0, 1) : interval));
                }
            }
        }
        return new SweepTables(sweepId, plan, names, merged, failures.OrderBy(f => f.Cell.Index).ToList());
    }

    /// <summary>
    /// The tables as Markdown: one table per result, a row per configuration, a column per seed. The text depends
    /// only on the plan and the cells' results (not on the sweep's id or timing), so two sweeps of one config compare byte for byte.
    /// </summary>
    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Plan.Configurations} configuration(s) × {Plan.Seeds.Count} seed(s) = {Plan.Cells.Count} cells, {Plan.Cells.Count - Failures.Count} with results.\n\n");
        text.Append("Mean over seeds with its 95 % Student-t interval over seeds (mean ± t(0.975, n − 1) · s / √n, clipped to [0, 1] for rates; none for one seed). ");
        text.Append("Each seed's column gives that run's value and, for rates, the count and its 95 % Wilson interval over the run's levels.\n");
        foreach (var name in Names)
        {
            text.Append(CultureInfo.InvariantCulture, $"\n## {name}\n\n| configuration | seeds | mean | 95 % CI over seeds (t) |");
            foreach (var seed in Plan.Seeds)
            {
                text.Append(CultureInfo.InvariantCulture, $" seed {seed} |");
            }
            text.Append("\n|---|---:|---:|---|");
            text.Append(string.Concat(Plan.Seeds.Select(_ => "---:|")));
            text.Append('\n');
            foreach (var row in Results.Where(r => r.Name == name))
            {
                text.Append(CultureInfo.InvariantCulture, $"| {Plan.ConfigurationLabel(row.Configuration)} | {row.Interval.Count} | {Number(row.Interval.Mean)} | {Interval(row.Interval)} |");
                foreach (var seed in Plan.Seeds)
                {
                    var value = row.Seeds.FirstOrDefault(s => s.Cell.Seed == seed);
                    text.Append(' ').Append(value is null ? "—" : SeedText(value.Result)).Append(" |");
                }
                text.Append('\n');
            }
        }
        if (Failures.Count > 0)
        {
            text.Append("\n## Cells without results\n\n| cell | configuration, seed | error |\n|---|---|---|\n");
            foreach (var failure in Failures)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {failure.Cell.DirectoryName} | {Plan.CellLabel(failure.Cell)} | {failure.Message.Replace("|", "\\|", StringComparison.Ordinal)} |\n");
            }
        }
        return text.ToString();
    }

    /// <summary>The merged numbers as CSV: one row per configuration and result, axis values as columns, numbers in round-trip form.</summary>
    public string ToCsv()
    {
        var text = new StringBuilder();
        text.Append("configuration,");
        foreach (var axis in Plan.Axes)
        {
            text.Append(Csv(axis.Key)).Append(',');
        }
        text.Append("result,seeds,mean,ci_low,ci_high\n");
        foreach (var row in Results)
        {
            text.Append(row.Configuration.ToString(CultureInfo.InvariantCulture)).Append(',');
            var choices = Plan.Cells[row.Configuration * Plan.Seeds.Count].Choices;
            foreach (var choice in choices)
            {
                text.Append(Csv(choice)).Append(',');
            }
            text.Append(Csv(row.Name)).Append(',').Append(row.Interval.Count.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(Round(row.Interval.Mean)).Append(',')
                .Append(row.Interval.HasInterval ? Round(row.Interval.Low) : "").Append(',')
                .Append(row.Interval.HasInterval ? Round(row.Interval.High) : "").Append('\n');
        }
        return text.ToString();
    }

    /// <summary>The sweep's <c>report.md</c>: what was swept and the tables.</summary>
    public string ToReportMarkdown() => $"# sweep {SweepId}\n\n" + Description() + "\n\n" + ToMarkdown();

    /// <summary>
    /// The sweep's <c>report.html</c>: a bar chart per result (mean over seeds with its t interval, each seed's value as a point)
    /// and the tables; for an experiment with its own cross-cell analysis, that analysis's sections instead (the tables stay in
    /// <c>tables.md</c> and <c>tables.csv</c>).
    /// </summary>
    public HtmlReport ToHtmlReport(ISweepAnalysis? analysis = null)
    {
        var report = new HtmlReport($"sweep {SweepId}");
        report.Paragraph(Description());
        if (analysis is not null)
        {
            // The experiment's own sections stand for its thousands of results; every one is in tables.md and tables.csv.
            analysis.AddTo(report, this);
            report.Heading("Every result");
            report.Paragraph($"Every result of every cell, merged over seeds with its t interval, is in `tables.md` and `tables.csv` beside this page ({Results.Count} rows).");
            AddFailures(report);
            return report;
        }
        report.Paragraph("Bars: mean over seeds with the 95 % Student-t interval over seeds. Points: each seed's own value; for rates, the thin bars are that run's 95 % Wilson interval over levels.");
        foreach (var name in Names)
        {
            var rows = Results.Where(r => r.Name == name).ToList();
            var bars = rows.Select(r => new IntervalBar(Plan.ConfigurationLabel(r.Configuration), r.Interval.Mean, r.Interval.HasInterval ? r.Interval.Low : null, r.Interval.HasInterval ? r.Interval.High : null)).ToList();
            var points = rows.SelectMany((r, i) => r.Seeds.Select(s => new BarPoint(i, s.Result.Value, s.Result.Rate?.Interval.Low, s.Result.Rate?.Interval.High))).ToList();
            var sources = rows.SelectMany(r => r.Seeds).Select(s => s.Cell).OrderBy(c => c.Index).Select(c => $"{SweepRunner.CellsFolder}/{c.DirectoryName}/{RunResults.FileName}");
            report.Figure(Figures.Bars(name, bars, name, $"sweep {SweepId}: {string.Join(", ", sources)}", points));
        }
        foreach (var name in Names)
        {
            var headers = new List<string> { "configuration", "seeds", "mean", "95 % CI over seeds (t)" };
            headers.AddRange(Plan.Seeds.Select(s => $"seed {s}"));
            var rows = Results.Where(r => r.Name == name).Select(r =>
            {
                var cells = new List<string> { Plan.ConfigurationLabel(r.Configuration), r.Interval.Count.ToString(CultureInfo.InvariantCulture), Number(r.Interval.Mean), Interval(r.Interval) };
                cells.AddRange(Plan.Seeds.Select(seed => r.Seeds.FirstOrDefault(s => s.Cell.Seed == seed) is { } v ? SeedText(v.Result) : "—"));
                return (IReadOnlyList<string>)cells;
            }).ToList();
            report.Table(new ReportTable(name, headers, rows, $"sweep {SweepId}: cells/*/{RunResults.FileName}"));
        }
        AddFailures(report);
        return report;
    }

    private void AddFailures(HtmlReport report)
    {
        if (Failures.Count > 0)
        {
            report.Table(new ReportTable("cells without results", ["cell", "configuration, seed", "error"],
                Failures.Select(f => (IReadOnlyList<string>)[f.Cell.DirectoryName, Plan.CellLabel(f.Cell), f.Message]).ToList(), $"sweep {SweepId}: cells/*/{RunRecordFile.FileName}"));
        }
    }

    private string Description()
    {
        var axes = Plan.Axes.Count == 0 ? "no axes (one configuration)" : string.Join("; ", Plan.Axes.Select(a => $"{a.Key} ∈ {{{string.Join(", ", a.Values)}}}"));
        return $"Axes: {axes}. Seeds: {string.Join(", ", Plan.Seeds)}. Each cell is a run in `cells/NNN/` (its config.toml, metrics, checkpoints, results.json).";
    }

    private static string SeedText(RunResult result) => result.Rate is { } rate
        ? string.Create(CultureInfo.InvariantCulture, $"{rate.Value:F3} ({rate}; Wilson [{rate.Interval.Low:F3}, {rate.Interval.High:F3}])")
        : Number(result.Value);

    private static string Interval(MeanInterval interval) => interval.HasInterval ? $"[{Number(interval.Low)}, {Number(interval.High)}]" : "— (one seed)";

    private static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    private static string Round(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Csv(string text) => text.Contains(',', StringComparison.Ordinal) || text.Contains('"', StringComparison.Ordinal)
        ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
        : text;
}
