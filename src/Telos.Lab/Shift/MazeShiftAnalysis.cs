using System.Globalization;
using System.Text;
using Telos.Lab.Reports;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;
using Telos.Randomness;
using Telos.Statistics;

namespace Telos.Lab.Shift;

/// <summary>An audit's power to predict failure: the AUC over (objective, planner, seed) points with its bootstrap interval.</summary>
/// <param name="Score">The audit's result name (<c>audit/disagreement_test</c>, <c>oracle/epic_test</c>, …).</param>
/// <param name="Points">Points with both the score and a failure verdict.</param>
/// <param name="Failures">Of those, the failed ones.</param>
/// <param name="Auc">P(score of a failed point &gt; score of a point that did not fail), ties counting ½; null when either class is empty.</param>
/// <param name="Low">Lower end of the 95 % percentile bootstrap interval (points resampled with replacement).</param>
/// <param name="High">Upper end.</param>
public sealed record AuditPower(string Score, int Points, int Failures, double? Auc, double? Low, double? High);

/// <summary>
/// What the <c>maze-shift</c> sweep computes across its cells from their merged results: the misgeneralization table
/// and bars (every agent's success, proxy and proxy-region rates with ceilings, mean over seeds with the t interval), how
/// well each zero-rollout audit (and the oracle EPIC) predicts behavioural failure (AUC over objectives, planners and seeds
/// with a bootstrap interval, and the scatter), and the retargeting maps (success per target cell, mean over seeds).
/// Everything is read from <see cref="SweepTables"/> in cell order, so a resumed sweep writes the same bytes.
/// </summary>
public sealed class MazeShiftAnalysis
{
    /// <summary>Results of one agent start with this and its name: <c>agent/bfs + reward-linear/maze/test/success</c>.</summary>
    public const string AgentPrefix = "agent/";

    /// <summary>The proxy-region rate's result name under an agent's <c>maze/test/</c>.</summary>
    public const string ProxyRegionResult = "proxy_region";

    /// <summary>The map name of the retargeting ceiling: <c>retarget/ceiling/reachable/X,Y</c>, the share of levels where the cell can be reached without stepping on the cheese.</summary>
    public const string CeilingAgent = "ceiling";

    /// <summary>See <see cref="CeilingAgent"/>.</summary>
    public const string CeilingHandle = "reachable";

    /// <summary>Bootstrap resamples of the AUC interval.</summary>
    public const int BootstrapResamples = 2000;

    /// <summary>The audits whose predictive power is reported, in order: those a user can run (identifiability, cross-form disagreement, seed-ensemble disagreement), then the oracle ones.</summary>
    public static IReadOnlyList<string> Scores { get; } =
        ["audit/identifiability", "audit/disagreement_test", "audit/disagreement_train", "audit/ensemble_test", "audit/ensemble_train", "oracle/epic_test", "oracle/epic_train"];

    private const string MapPrefix = "retarget/";

    private const string GemPrefix = MapPrefix + "gem/";

    private readonly SweepTables _tables;
    private readonly Dictionary<(int Cell, string Name), double> _values = [];

    public MazeShiftAnalysis(SweepTables tables)
    {
        ArgumentNullException.ThrowIfNull(tables);
        _tables = tables;
        foreach (var merged in tables.Results)
        {
            foreach (var seed in merged.Seeds)
            {
                _values[(seed.Cell.Index, merged.Name)] = seed.Result.Value;
            }
        }
    }

    /// <summary>
    /// The result name of a retargeting to the gem: <c>retarget/gem/AGENT/HANDLE/success</c> (ended on the gem) or
    /// <c>…/reachable</c> (the gem could be reached without stepping on the cheese: the ceiling), each a rate.
    /// </summary>
    public static string GemResult(string agent, string handle, string what) => $"{GemPrefix}{agent}/{handle}/{what}";

    /// <summary>The result name of a retargeting map's cell: <c>retarget/AGENT/HANDLE/X,Y</c> (x from the left, y from the bottom).</summary>
    public static string MapResult(string agent, string handle, int x, int y) => string.Create(CultureInfo.InvariantCulture, $"{MapPrefix}{agent}/{handle}/{x},{y}");

    /// <summary>The predictive power of every score in configuration <paramref name="configuration"/>: failure = <c>objective/ID/PLANNER/failed</c> = 1.</summary>
    public IReadOnlyList<AuditPower> Powers(int configuration)
    {
        var cells = _tables.Plan.Cells.Where(c => c.Configuration == configuration).ToArray();
        var verdicts = new List<(int Cell, string Objective, bool Failed)>();
        foreach (var cell in cells)
        {
            foreach (var ((index, name), value) in _values.Where(v => v.Key.Cell == cell.Index).OrderBy(v => v.Key.Name, StringComparer.Ordinal))
            {
                var parts = name.Split('/');
                if (parts.Length == 4 && parts[0] == "objective" && parts[3] == "failed")
                {
                    verdicts.Add((index, parts[1], value > 0.5));
                }
            }
        }
        return [.. Scores.Select(score =>
        {
            var points = verdicts.Where(v => _values.ContainsKey((v.Cell, $"objective/{v.Objective}/{score}")))
                .Select(v => (Score: _values[(v.Cell, $"objective/{v.Objective}/{score}")], v.Failed)).ToArray();
            var (auc, low, high) = AucWithInterval(points, Seeds.Derive(0, "maze-shift/auc/" + score));
            return new AuditPower(score, points.Length, points.Count(p => p.Failed), auc, low, high);
        })];
    }

    /// <summary>
    /// The AUC of <paramref name="points"/> (Mann–Whitney: failed above not failed, ties ½) with its 95 % percentile bootstrap interval
    /// over <see cref="BootstrapResamples"/> resamples of the points (resamples with one class only are skipped); nulls when either class is empty.
    /// </summary>
    public static (double? Auc, double? Low, double? High) AucWithInterval(IReadOnlyList<(double Score, bool Failed)> points, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (Auc(points) is not { } auc)
        {
            return (null, null, null);
        }
        var rng = Seeds.Stream(seed, "bootstrap");
        var draws = new List<double>();
        var sample = new (double, bool)[points.Count];
        for (var b = 0; b < BootstrapResamples; b++)
        {
            for (var i = 0; i < sample.Length; i++)
            {
                sample[i] = points[rng.NextInt(points.Count)];
            }
            if (Auc(sample) is { } a)
            {
                draws.Add(a);
            }
        }
        draws.Sort();
        return draws.Count == 0 ? (auc, null, null) : (auc, Quantile(draws, 0.025), Quantile(draws, 0.975));
    }

    /// <summary>P(score of a failed point &gt; score of one that did not fail), ties ½; null when either class is empty.</summary>
    public static double? Auc(IReadOnlyList<(double Score, bool Failed)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var failed = points.Where(p => p.Failed).Select(p => p.Score).ToArray();
        var passed = points.Where(p => !p.Failed).Select(p => p.Score).ToArray();
        if (failed.Length == 0 || passed.Length == 0)
        {
            return null;
        }
        var wins = 0.0;
        foreach (var f in failed)
        {
            foreach (var p in passed)
            {
                wins += f > p ? 1 : f == p ? 0.5 : 0;
            }
        }
        return wins / ((double)failed.Length * passed.Length);
    }

    /// <summary>The sweep's section of <c>tables.md</c>.</summary>
    public string Markdown()
    {
        var text = new StringBuilder("\n# maze-shift: across cells\n");
        text.Append("\n## Misgeneralization: every agent on maze/train and maze/test\n\n");
        text.Append("Mean over seeds with the 95 % t interval over seeds. *proxy* = ended on the top-right corner, of the levels with the cheese elsewhere; *proxy region* = ended in the top-right region, of the levels with the cheese outside it; *reachable* = mean share of levels where the goal (or the corner, without stepping on the cheese) can be reached at all.\n\n");
        text.Append("| configuration | agent | seeds | maze/train success | maze/test success | success reachable | proxy (corner) | corner reachable | proxy region |\n|---|---|---:|---|---|---:|---|---:|---|\n");
        foreach (var (configuration, agent) in Agents())
        {
            text.Append(CultureInfo.InvariantCulture,
                $"| {_tables.Plan.ConfigurationLabel(configuration)} | {agent} | {Interval(configuration, AgentPrefix + agent + "/maze/test/success")?.Count ?? 0} | {Cell(configuration, agent, "maze/train/success")} | {Cell(configuration, agent, "maze/test/success")} | {Mean(configuration, agent, "maze/test/success_ceiling")} | {Cell(configuration, agent, "maze/test/proxy")} | {Mean(configuration, agent, "maze/test/proxy_ceiling")} | {Cell(configuration, agent, "maze/test/" + ProxyRegionResult)} |\n");
        }
        var formRows = FormByInputRows();
        if (formRows.Count > 0)
        {
            text.Append("\n## Form × input\n\nEach signal through a linear form and a net, each over the named features and over the one-hot observation, beside the policies (which see one-hot observations). Mean over seeds with the 95 % t interval over seeds; *proxy* as above.\n\n| ")
                .Append(string.Join(" | ", FormByInput.Maze.SweepHeaders)).Append(" |\n|").Append(string.Concat(Enumerable.Repeat("---|", FormByInput.Maze.SweepHeaders.Count))).Append('\n');
            foreach (var row in formRows)
            {
                text.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
            }
        }
        foreach (var configuration in ObjectiveConfigurations())
        {
            text.Append(CultureInfo.InvariantCulture, $"\n## Zero-rollout audits as predictors of failure ({_tables.Plan.ConfigurationLabel(configuration)})\n\n");
            text.Append("A point is (objective, planner, seed). Failure: the objective's maze/test success is more than the configured margin below the true reward's under the same planner on the same levels. AUC: P(score of a failed point > score of one that did not fail), ties ½; 95 % percentile bootstrap over points. *oracle* scores need the true reward, which a user does not have.\n\n");
            text.Append("| score | points | failed | AUC | 95 % CI (bootstrap) |\n|---|---:|---:|---:|---|\n");
            foreach (var power in Powers(configuration))
            {
                text.Append(CultureInfo.InvariantCulture, $"| {power.Score} | {power.Points} | {power.Failures} | {Number(power.Auc)} | {(power.Low is { } l && power.High is { } h ? $"[{Number(l)}, {Number(h)}]" : "—")} |\n");
            }
        }
        var gemRows = GemRows();
        if (gemRows.Count > 0)
        {
            text.Append("\n## Retargeting to the gem\n\nA second item no agent trained with (maze/test with gems = 1), zero gradient steps. *success* = ended on the gem, mean over seeds with the 95 % t interval over seeds; *ceiling* = mean share of levels where the gem can be reached without stepping on the cheese. Handles: `swap` the gem reward (10·at_gem); `none` the agent as trained; `edit` the reward-linear card with at_cheese → 0 and at_gem → 1 (`edit-no-corner`: and at_corner → 0); `steer` the goal vector toward the gem's cell; `clamp` the cheese channel clamped at the gem's cell.\n\n| ")
                .Append(string.Join(" | ", GemHeaders)).Append(" |\n|").Append(string.Concat(Enumerable.Repeat("---|", GemHeaders.Count))).Append('\n');
            foreach (var row in gemRows)
            {
                text.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
            }
        }
        foreach (var map in Maps())
        {
            text.Append(CultureInfo.InvariantCulture, $"\n## Retargeting map: {map.Agent} {map.Handle} ({_tables.Plan.ConfigurationLabel(map.Configuration)})\n\n");
            text.Append(map.Agent == CeilingAgent
                ? "The ceiling: share of levels where the cell can be reached from the start without stepping on the cheese, mean over seeds (rows from the top; – where no level had the cell free).\n\n"
                : "Share of episodes that ended on the target cell, mean over seeds (rows from the top; – where no level had the cell free).\n\n");
            var size = map.Values.GetLength(0);
            text.Append("| y \\ x |").Append(string.Concat(Enumerable.Range(0, size).Select(x => $" {x} |"))).Append("\n|---|").Append(string.Concat(Enumerable.Repeat("---:|", size))).Append('\n');
            for (var row = 0; row < size; row++)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {size - 1 - row} |");
                for (var x = 0; x < size; x++)
                {
                    var v = map.Values[row, x];
                    text.Append(double.IsNaN(v) ? " – |" : string.Create(CultureInfo.InvariantCulture, $" {v:F2} |"));
                }
                text.Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>The sweep report's figures: success/proxy bars with t intervals, the audit-versus-failure scatter with the AUC, the retargeting maps.</summary>
    public void AddTo(HtmlReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var source = $"sweep {_tables.SweepId}: {SweepRunner.CellsFolder}/*/{RunResults.FileName}";
        var agents = Agents();
        report.Heading("Misgeneralization: success and proxy pursuit");
        report.Paragraph("Bars: mean over seeds with the 95 % Student-t interval over seeds; points: each seed's value. Every agent is measured on the same seed-drawn levels through the one evaluation path.");
        foreach (var (metric, title) in new[] { ("maze/train/success", "success on maze/train (in-distribution control)"), ("maze/test/success", "success on maze/test"), ("maze/test/proxy", "proxy pursuit on maze/test: ended on the corner"), ("maze/test/" + ProxyRegionResult, "proxy pursuit on maze/test: ended in the top-right region") })
        {
            var rows = agents.Select(a => (a.Configuration, a.Agent, Merged: Find(a.Configuration, AgentPrefix + a.Agent + "/" + metric))).Where(r => r.Merged is not null).ToList();
            if (rows.Count == 0)
            {
                continue;
            }
            var bars = rows.Select(r => new IntervalBar(Label(r.Configuration, r.Agent), r.Merged!.Interval.Mean, r.Merged.Interval.HasInterval ? r.Merged.Interval.Low : null, r.Merged.Interval.HasInterval ? r.Merged.Interval.High : null)).ToList();
            var points = rows.SelectMany((r, i) => r.Merged!.Seeds.Select(s => new BarPoint(i, s.Result.Value, s.Result.Rate?.Interval.Low, s.Result.Rate?.Interval.High))).ToList();
            report.Figure(Figures.Bars(title, bars, "rate", source, points));
        }
        var formRows = FormByInputRows();
        if (formRows.Count > 0)
        {
            report.Heading("Form × input");
            report.Table(new ReportTable("each signal through a linear form and a net, each over the named features and over the one-hot observation, beside the policies (one-hot observations); mean over seeds [95 % t interval]",
                FormByInput.Maze.SweepHeaders, formRows, source));
        }
        foreach (var configuration in ObjectiveConfigurations())
        {
            var label = _tables.Plan.ConfigurationLabel(configuration);
            report.Heading($"Zero-rollout audits as predictors of failure ({label})");
            var powers = Powers(configuration);
            report.Table(new ReportTable("AUC of each score for failure on maze/test (a point is an objective × planner × seed; 95 % bootstrap interval over points; oracle scores need the true reward)",
                ["score", "points", "failed", "AUC", "95 % CI"],
                powers.Select(p => (IReadOnlyList<string>)[p.Score, p.Points.ToString(CultureInfo.InvariantCulture), p.Failures.ToString(CultureInfo.InvariantCulture), Number(p.Auc),
                    p.Low is { } l && p.High is { } h ? $"[{Number(l)}, {Number(h)}]" : "—"]).ToList(), source));
            foreach (var power in powers.Where(p => p.Points > 0))
            {
                var scatter = Scatter(configuration, power.Score);
                report.Figure(Figures.Scatter($"{power.Score} vs the success gap to the true reward ({label})", scatter, power.Score, "maze/test success: true reward − objective", source,
                    $"AUC {Number(power.Auc)}" + (power.Low is { } l && power.High is { } h ? $" [{Number(l)}, {Number(h)}]" : "")));
            }
        }
        var gemRows = GemRows();
        if (gemRows.Count > 0)
        {
            report.Heading("Retargeting to the gem");
            report.Table(new ReportTable("a second item no agent trained with (maze/test, gems = 1), zero gradient steps: success = ended on the gem, mean over seeds [95 % t interval]; ceiling = mean share of levels where the gem can be reached without stepping on the cheese",
                GemHeaders, gemRows, source));
        }
        var maps = Maps();
        if (maps.Count > 0)
        {
            report.Heading("Retargeting without training: success per target cell");
            report.Paragraph("Each cell: the share of maze/test episodes that ended on it when the agent was retargeted there (hard-coded agent: its objective swapped for 1 on the cell; policy: the goal vector toward the cell added (steer), or its cheese channel clamped at the cell (clamp)); mean over seeds. Grey: no level had the cell free. The *reachable* maps are the ceiling: the cell can be reached without stepping on the cheese.");
            foreach (var map in maps)
            {
                report.Figure(Figures.Heatmap($"{map.Agent} {map.Handle} ({_tables.Plan.ConfigurationLabel(map.Configuration)})", map.Values,
                    map.Agent == CeilingAgent ? "share of levels where reachable" : "share ended on the target", source));
            }
        }
    }

    private List<IReadOnlyList<string>> FormByInputRows() => FormByInput.Maze.SweepRows(Agents(), Setting, Cell);

    /// <summary>A configuration's choices other than the agent group (<c>region=1</c>), or <c>all</c> when there are none.</summary>
    public string Setting(int configuration)
    {
        var others = _tables.Plan.Axes.Select((a, i) => (a, i)).Where(p => p.a.Key != "agents")
            .Select(p => $"{p.a.Key}={_tables.Plan.Cells[configuration * _tables.Plan.Seeds.Count].Choices[p.i]}").ToArray();
        return others.Length == 0 ? "all" : string.Join(", ", others);
    }

    private List<ScatterPoint> Scatter(int configuration, string score)
    {
        var points = new List<ScatterPoint>();
        foreach (var cell in _tables.Plan.Cells.Where(c => c.Configuration == configuration))
        {
            foreach (var ((index, name), value) in _values.Where(v => v.Key.Cell == cell.Index).OrderBy(v => v.Key.Name, StringComparer.Ordinal))
            {
                var parts = name.Split('/');
                if (parts.Length == 4 && parts[0] == "objective" && parts[3] == "failed"
                    && _values.TryGetValue((index, $"objective/{parts[1]}/{score}"), out var x) && _values.TryGetValue((index, $"objective/{parts[1]}/{parts[2]}/success_gap"), out var y))
                {
                    points.Add(new ScatterPoint(x, y, value > 0.5 ? "failed" : "did not fail"));
                }
            }
        }
        return points;
    }

    private List<(int Configuration, string Agent)> Agents()
    {
        var list = new List<(int, string)>();
        foreach (var merged in _tables.Results)
        {
            if (merged.Name.StartsWith(AgentPrefix, StringComparison.Ordinal) && merged.Name.EndsWith("/maze/test/success", StringComparison.Ordinal))
            {
                list.Add((merged.Configuration, merged.Name[AgentPrefix.Length..^"/maze/test/success".Length]));
            }
        }
        return list;
    }

    private static IReadOnlyList<string> GemHeaders { get; } = ["configuration", "agent", "handle", "seeds", "success", "ceiling"];

    /// <summary>One row per (configuration, agent, handle) of the <c>retarget/gem/AGENT/HANDLE/success</c> results, in the order merged.</summary>
    private List<IReadOnlyList<string>> GemRows()
    {
        var rows = new List<IReadOnlyList<string>>();
        foreach (var merged in _tables.Results.Where(r => r.Name.StartsWith(GemPrefix, StringComparison.Ordinal) && r.Name.EndsWith("/success", StringComparison.Ordinal)))
        {
            var parts = merged.Name[GemPrefix.Length..].Split('/');
            if (parts.Length != 3)
            {
                continue;
            }
            var i = merged.Interval;
            rows.Add([_tables.Plan.ConfigurationLabel(merged.Configuration), parts[0], parts[1], i.Count.ToString(CultureInfo.InvariantCulture),
                Number(i.Mean) + (i.HasInterval ? $" [{Number(i.Low)}, {Number(i.High)}]" : ""),
                Number(Interval(merged.Configuration, GemResult(parts[0], parts[1], "reachable"))?.Mean)]);
        }
        return rows;
    }

    private IEnumerable<int> ObjectiveConfigurations() =>
        _tables.Results.Where(r => r.Name.StartsWith("objective/", StringComparison.Ordinal) && r.Name.EndsWith("/failed", StringComparison.Ordinal)).Select(r => r.Configuration).Distinct();

    private List<(int Configuration, string Agent, string Handle, double[,] Values)> Maps()
    {
        var groups = new List<(int, string, string, List<(int X, int Y, double V)>)>();
        foreach (var merged in _tables.Results.Where(r => r.Name.StartsWith(MapPrefix, StringComparison.Ordinal)))
        {
            var parts = merged.Name.Split('/');
            var xy = parts.Length == 4 ? parts[3].Split(',') : [];
            if (xy.Length != 2 || !int.TryParse(xy[0], CultureInfo.InvariantCulture, out var x) || !int.TryParse(xy[1], CultureInfo.InvariantCulture, out var y))
            {
                continue;
            }
            var group = groups.FindIndex(g => g.Item1 == merged.Configuration && g.Item2 == parts[1] && g.Item3 == parts[2]);
            if (group < 0)
            {
                groups.Add((merged.Configuration, parts[1], parts[2], []));
                group = groups.Count - 1;
            }
            groups[group].Item4.Add((x, y, merged.Interval.Mean));
        }
        return [.. groups.Select(g =>
        {
            var size = g.Item4.Max(c => Math.Max(c.X, c.Y)) + 1;
            var values = new double[size, size];
            for (var r = 0; r < size; r++)
            {
                for (var c = 0; c < size; c++)
                {
                    values[r, c] = double.NaN;
                }
            }
            foreach (var (x, y, v) in g.Item4)
            {
                values[size - 1 - y, x] = v;
            }
            return (g.Item1, g.Item2, g.Item3, values);
        })];
    }

    private MergedResult? Find(int configuration, string name) => _tables.Results.FirstOrDefault(r => r.Configuration == configuration && r.Name == name);

    private MeanInterval? Interval(int configuration, string name) => Find(configuration, name)?.Interval;

    private string Cell(int configuration, string agent, string metric) => Interval(configuration, AgentPrefix + agent + "/" + metric) is { } i
        ? Number(i.Mean) + (i.HasInterval ? $" [{Number(i.Low)}, {Number(i.High)}]" : "")
        : "—";

    private string Mean(int configuration, string agent, string metric) => Interval(configuration, AgentPrefix + agent + "/" + metric) is { } i ? Number(i.Mean) : "—";

    private string Label(int configuration, string agent) => Setting(configuration) is var setting && setting == "all" ? agent : $"{agent} ({setting})";

    private static double Quantile(List<double> sorted, double q)
    {
        var position = q * (sorted.Count - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }

    private static string Number(double? value) => value is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "—";
}
