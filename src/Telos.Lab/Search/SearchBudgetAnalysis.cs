using System.Globalization;
using System.Text;
using Telos.Lab.Configuration;
using Telos.Lab.Reports;
using Telos.Lab.Runs;
using Telos.Lab.Signatures;
using Telos.Lab.Sweeps;
using Telos.Statistics;

namespace Telos.Lab.Search;

/// <summary>
/// What a sweep of <c>search-train</c> cells computes across them: each signature of learned planning against the search
/// budget n, mean over seeds with the 95 % Student-t interval over seeds as a band — the network alone and with search on
/// both distributions, the probes' accuracy per layer (cheese cell, next 1/4/8 actions), the value head's EPIC to the true
/// and the proxy objective, and its goal-regression k-curve — grouped by the control a configuration is under (equal
/// environment steps or equal compute, with the other axes), which a table beside them states per configuration.
/// Everything is read from <see cref="SweepTables"/> and the cells' resolved configs, so a resumed sweep writes the same bytes.
/// </summary>
public sealed class SearchBudgetAnalysis
{
    /// <summary>The probes' targets as their results name them, in the figures' order.</summary>
    public static IReadOnlyList<string> ProbeTargets { get; } = ["cheese_cell", "action_+1", "action_+4", "action_+8"];

    private readonly SweepTables _tables;
    private readonly List<Configuration> _configurations = [];

    /// <summary>A configuration: its group (control and the axes other than the budget), budget and control.</summary>
    private sealed record Configuration(int Index, string Group, int Simulations, string Control, int ReferenceSimulations);

    public SearchBudgetAnalysis(SweepTables tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        _tables = tables;
        var plan = tables.Plan;
        for (var c = 0; c < plan.Configurations; c++)
        {
            var cell = plan.Cells[c * plan.Seeds.Count];
            var settings = new SearchTrainingExperiment().Configure(ConfigFile.Parse(cell.ResolvedToml, $"{SweepRunner.CellsFolder}/{cell.DirectoryName}/config.toml"));
            var control = settings.Control;
            var others = plan.Axes.Select((a, i) => (a.Key, Value: cell.Choices[i])).Where(a => a.Key is not ("simulations" or "control")).Select(a => $"{a.Key}={a.Value}");
            var group = string.Join(", ", new[] { SearchControls.Describe(control) }.Concat(others));
            _configurations.Add(new Configuration(c, group, settings.Training.Simulations, control.Control, control.ReferenceSimulations));
        }
    }

    /// <summary>The result name of the value regression's point at k on a distribution: <c>value_regression/k16/maze_test</c> (then <c>/epic_true</c>, <c>/epic_proxy</c>).</summary>
    public static string RegressionResult(int k, string distribution) =>
        RegressionLabelsResult(k) + "/" + distribution.Replace('/', '_');

    /// <summary>
    /// The result name of what the value regression at k knows of its labels, whatever it is measured on: <c>value_regression/k16</c>
    /// (then <c>/goal_labels</c>, the labels on the cheese, and for k &gt; 0 <c>/label_error_before</c>, <c>/label_error_after</c>).
    /// </summary>
    public static string RegressionLabelsResult(int k) => string.Create(CultureInfo.InvariantCulture, $"value_regression/k{k}");

    /// <summary>The sweep's section of <c>tables.md</c>: the control of each configuration, the main signatures per budget, the value head's k-curve.</summary>
    public string Markdown()
    {
        var text = new StringBuilder("\n# search-train: signatures against the search budget\n\n");
        text.Append("Mean over seeds with the 95 % t interval over seeds. *control*: what every budget of the group is given equally — environment steps, or compute in network rows (forward rows of the searches + 3 × the rows of the gradient steps, docs/search-budget.md).\n\n");
        text.Append("| configuration | control | n | environment steps | network rows | network alone, maze/test | with search, maze/test | value EPIC to true, maze/test | to proxy, maze/test |\n|---|---|---:|---:|---:|---|---|---|---|\n");
        foreach (var c in Ordered())
        {
            text.Append(CultureInfo.InvariantCulture,
                $"| {_tables.Plan.ConfigurationLabel(c.Index)} | {c.Group} | {c.Simulations} | {Mean(c, "compute/timesteps", "F0")} | {Mean(c, "compute/network_rows", "F0")} | {Cell(c, "network/maze/test/success")} | {Cell(c, "search/maze/test/success")} | {Cell(c, "value/maze_test/epic_true")} | {Cell(c, "value/maze_test/epic_proxy")} |\n");
        }
        var budgets = LabelBudgets();
        if (budgets.Count > 0)
        {
            text.Append("\n## Goal regression of the value head: EPIC to the true objective (and the proxy) on maze/test after k labelled maze/test states\n\n| configuration | n |");
            text.Append(string.Concat(budgets.Select(k => $" k = {k} |"))).Append("\n|---|---:|").Append(string.Concat(budgets.Select(_ => "---|"))).Append('\n');
            foreach (var c in Ordered())
            {
                text.Append(CultureInfo.InvariantCulture, $"| {_tables.Plan.ConfigurationLabel(c.Index)} | {c.Simulations} |");
                foreach (var k in budgets)
                {
                    var name = RegressionResult(k, "maze/test");
                    text.Append(' ').Append(Cell(c, name + "/epic_true")).Append(" (proxy ").Append(Cell(c, name + "/epic_proxy")).Append(") |");
                }
                text.Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>The sweep report's section: the control table, then every signature against the budget with its band.</summary>
    public void AddTo(HtmlReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var source = $"sweep {_tables.SweepId}: {SweepRunner.CellsFolder}/*/{RunResults.FileName}";
        report.Heading("The control of each configuration");
        report.Table(new ReportTable("what each budget is given equally: environment steps, or network rows (the searches' forward rows + 3 × the gradient steps' rows); mean over seeds",
            ["configuration", "control", "n", "environment steps", "network rows", "training seconds"],
            [.. Ordered().Select(c => (IReadOnlyList<string>)[_tables.Plan.ConfigurationLabel(c.Index), c.Group, c.Simulations.ToString(CultureInfo.InvariantCulture),
                Mean(c, "compute/timesteps", "F0"), Mean(c, "compute/network_rows", "F0"), Mean(c, "time/train_seconds", "F1")])], source));

        report.Heading("Signatures of learned planning against the search budget");
        report.Paragraph("Each line: mean over seeds; band: the 95 % Student-t interval over seeds (none for one seed). The x axis is the budget n on a log scale.");
        var figures = new List<ReportFigure>();
        foreach (var distribution in new[] { "maze/train", "maze/test" })
        {
            AddFigure(figures, $"success on {distribution}: the network alone and with search at n", "success rate", source,
                [("network alone", $"network/{distribution}/success"), ("with search", $"search/{distribution}/success")]);
        }
        AddFigure(figures, "the value head's EPIC distance to the true and the proxy objective", "EPIC (0: same ranking, 0.707: unrelated)", source,
            [("maze/test, to true", "value/maze_test/epic_true"), ("maze/test, to proxy", "value/maze_test/epic_proxy"), ("maze/train, to true (= proxy)", "value/maze_train/epic_true")]);
        report.FigureRow(figures);

        var probes = new List<ReportFigure>();
        var points = ProbePoints();
        foreach (var target in ProbeTargets)
        {
            var series = points.Select(p => (p, $"probe/{p}/{target}/accuracy")).ToList();
            series.Add(("majority baseline", $"probe/{PlanningSignatures.ObservationPoint}/{target}/baseline"));
            AddFigure(probes, $"probe accuracy per layer: {target.Replace('_', ' ')}", "held-out accuracy", source, series);
        }
        if (probes.Count > 0)
        {
            report.Heading("Linear probes of every layer against the budget");
            report.Paragraph("Ridge probes of each hook point (and of the observation itself) on the network alone's maze/test episodes, scored on held-out levels; the majority baseline is the most common class.");
            report.FigureRow(probes);
        }

        var budgets = LabelBudgets();
        if (budgets.Count > 0)
        {
            report.Heading("Goal regression of the value head: the k-curve");
            report.Paragraph("The value head alone fine-tuned on k maze/test states labelled with the true objective's value (anchor λ = 1 on 2,000 maze/train states), then its EPIC distance measured again on the value comparison's maze/test levels; one line per budget n, band: 95 % t interval over seeds.");
            var ticks = budgets.Select((k, i) => ((double)i, k.ToString(CultureInfo.InvariantCulture))).ToArray();
            var regression = new List<ReportFigure>();
            foreach (var (suffix, what) in new[] { ("epic_true", "the true objective"), ("epic_proxy", "the proxy (corner)") })
            {
                var curves = new List<Curve>();
                foreach (var c in Ordered())
                {
                    var merged = budgets.Select(k => Find(c.Index, RegressionResult(k, "maze/test") + "/" + suffix)).ToList();
                    if (merged.All(m => m is not null))
                    {
                        curves.Add(Band($"{GroupPrefix(c)}n = {c.Simulations}", [.. Enumerable.Range(0, budgets.Count).Select(i => (double)i)], [.. merged.Select(m => m!.Interval)]));
                    }
                }
                if (curves.Count > 0)
                {
                    regression.Add(Figures.Curves($"value head EPIC to {what} on maze/test after k labels", curves, "k labelled maze/test states", "EPIC", source, ticks));
                }
            }
            report.FigureRow(regression);
        }
    }

    /// <summary>One figure of <paramref name="series"/> (legend, result name) against log₂ n, a line per series and group; none when no series has a value.</summary>
    private void AddFigure(List<ReportFigure> figures, string title, string yLabel, string source, IReadOnlyList<(string Legend, string Result)> series)
    {
        var curves = new List<Curve>();
        foreach (var group in Groups())
        {
            var members = Ordered().Where(c => c.Group == group).ToList();
            foreach (var (legend, result) in series)
            {
                var present = members.Select(c => (c, Merged: Find(c.Index, result))).Where(p => p.Merged is not null).ToList();
                if (present.Count > 0)
                {
                    var name = Groups().Count > 1 ? $"{legend} ({group})" : legend;
                    curves.Add(Band(name, [.. present.Select(p => Math.Log2(p.c.Simulations))], [.. present.Select(p => p.Merged!.Interval)]));
                }
            }
        }
        if (curves.Count > 0)
        {
            figures.Add(Figures.Curves(title, curves, "search budget n (simulations per move, log scale)", yLabel, source, BudgetTicks()));
        }
    }

    private static Curve Band(string name, IReadOnlyList<double> x, IReadOnlyList<MeanInterval> intervals)
    {
        var banded = intervals.All(i => i.HasInterval);
        return new Curve(name, x, [.. intervals.Select(i => i.Mean)],
            banded ? [.. intervals.Select(i => i.Low)] : null, banded ? [.. intervals.Select(i => i.High)] : null);
    }

    private (double, string)[] BudgetTicks() =>
        [.. _configurations.Select(c => c.Simulations).Distinct().Order().Select(n => (Math.Log2(n), n.ToString(CultureInfo.InvariantCulture)))];

    /// <summary>The probed points in forward order: the observation, then the hook points as the results first name them.</summary>
    private List<string> ProbePoints()
    {
        var points = new List<string>();
        foreach (var name in _tables.Names)
        {
            var parts = name.Split('/');
            if (parts.Length == 4 && parts[0] == "probe" && parts[3] == "accuracy" && !points.Contains(parts[1]))
            {
                points.Add(parts[1]);
            }
        }
        return points;
    }

    /// <summary>The k of the value regression's results, in increasing order.</summary>
    private List<int> LabelBudgets()
    {
        var budgets = new SortedSet<int>();
        foreach (var name in _tables.Names)
        {
            var parts = name.Split('/');
            if (parts.Length == 4 && parts[0] == "value_regression" && parts[1].StartsWith('k') && parts[3] == "epic_true"
                && int.TryParse(parts[1][1..], NumberStyles.None, CultureInfo.InvariantCulture, out var k))
            {
                budgets.Add(k);
            }
        }
        return [.. budgets];
    }

    private List<string> Groups() => [.. _configurations.Select(c => c.Group).Distinct()];

    private IEnumerable<Configuration> Ordered() => _configurations.OrderBy(c => Groups().IndexOf(c.Group)).ThenBy(c => c.Simulations).ThenBy(c => c.Index);

    private string GroupPrefix(Configuration c) => Groups().Count > 1 ? c.Group + ", " : "";

    private MergedResult? Find(int configuration, string name) => _tables.Results.FirstOrDefault(r => r.Configuration == configuration && r.Name == name);

    private string Cell(Configuration c, string name) => Find(c.Index, name)?.Interval is { } i
        ? Number(i.Mean) + (i.HasInterval ? $" [{Number(i.Low)}, {Number(i.High)}]" : "")
        : "—";

    private string Mean(Configuration c, string name, string format) => Find(c.Index, name)?.Interval is { } i ? i.Mean.ToString(format, CultureInfo.InvariantCulture) : "—";

    private static string Number(double value) => value.ToString("F3", CultureInfo.InvariantCulture);
}
