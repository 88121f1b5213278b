using System.Globalization;
using ScottPlot;
using Telos.Lab.Runs;

namespace Telos.Lab.Reports;

/// <summary>A bar with an optional interval (a 95 % CI).</summary>
/// <param name="Label">The category under the bar.</param>
/// <param name="Value">Bar height.</param>
/// <param name="Low">Interval's lower end, or null for none.</param>
/// <param name="High">Interval's upper end, or null for none.</param>
public sealed record IntervalBar(string Label, double Value, double? Low, double? High);

/// <summary>A point drawn over bar <paramref name="Bar"/> (a seed's value), with an optional interval (its Wilson interval).</summary>
public sealed record BarPoint(int Bar, double Value, double? Low, double? High);

/// <summary>A line with an optional shaded band (a CI at each x).</summary>
/// <param name="Name">Legend text.</param>
/// <param name="X">The x values.</param>
/// <param name="Y">The line, one value per x.</param>
/// <param name="Low">Band's lower edge per x, or null.</param>
/// <param name="High">Band's upper edge per x, or null.</param>
public sealed record Curve(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, IReadOnlyList<double>? Low = null, IReadOnlyList<double>? High = null);

/// <summary>An agent's path over grid cells, in the order visited (row 0 at the top, as in the heatmap's values).</summary>
public sealed record GridPath(string Name, IReadOnlyList<(int Row, int Column)> Cells);

/// <summary>A point of a scatter plot, in group <paramref name="Group"/> (one colour and legend entry per group).</summary>
public sealed record ScatterPoint(double X, double Y, string Group);

/// <summary>
/// The figure kinds reports use, drawn with ScottPlot and inlined as SVG: learning curves from
/// <c>metrics.csv</c>, bars with intervals, curves with CI bands, scatter plots and heatmaps over grid cells.
/// Each takes the source (run and file) its numbers came from, which the report prints under it.
/// </summary>
public static partial class Figures
{
    private const int Width = 800;
    private const int Height = 420;

    /// <summary>One line per metric of <paramref name="rows"/> against the step (rows where the metric is missing or not finite are skipped).</summary>
    /// <exception cref="ArgumentException">No metric named in <paramref name="metrics"/> has any value.</exception>
    public static ReportFigure LearningCurves(string title, IReadOnlyList<MetricsRow> rows, IReadOnlyList<string> metrics, string source, string xLabel = "step")
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(metrics);
        var curves = new List<Curve>();
        foreach (var metric in metrics)
        {
            var points = rows.Where(r => r.Values.TryGetValue(metric, out var v) && double.IsFinite(v)).ToList();
            if (points.Count > 0)
            {
                curves.Add(new Curve(metric, points.Select(p => (double)p.Step).ToArray(), points.Select(p => p.Values[metric]).ToArray()));
            }
        }
        if (curves.Count == 0)
        {
            throw new ArgumentException($"none of {string.Join(", ", metrics)} has a value in the metrics", nameof(metrics));
        }
        return Curves(title, curves, xLabel, metrics.Count == 1 ? metrics[0] : "value", source);
    }

    /// <summary>Lines with shaded bands where the curve has them (k-label curves, thinking-time curves); <c>xTicks</c>, when given, label the x axis instead of its numbers (budgets drawn at log positions).</summary>
    public static ReportFigure Curves(string title, IReadOnlyList<Curve> curves, string xLabel, string yLabel, string source, IReadOnlyList<(double Position, string Label)>? xTicks = null)
    {
        ArgumentNullException.ThrowIfNull(curves);
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < curves.Count; i++)
        {
            var curve = curves[i];
            var xs = curve.X.ToArray();
            var color = palette.GetColor(i);
            if (curve.Low is { } low && curve.High is { } high)
            {
                var band = plot.Add.FillY(xs, low.ToArray(), high.ToArray());
                band.FillColor = color.WithAlpha(0.2);
                band.LineWidth = 0;
            }
            var line = plot.Add.Scatter(xs, curve.Y.ToArray());
            line.Color = color;
            line.MarkerSize = xs.Length <= 12 ? 5 : 0;
            line.LineWidth = 2;
            line.LegendText = curve.Name;
        }
        if (xTicks is not null)
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(xTicks.Select(t => t.Position).ToArray(), xTicks.Select(t => t.Label).ToArray());
        }
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        if (curves.Count > 1)
        {
            plot.ShowLegend(Alignment.LowerRight);
        }
        return Finish(plot, title, source);
    }

    /// <summary>Bars with their intervals (success and proxy rates with CIs), and optionally points over them (per-seed values with their own intervals).</summary>
    public static ReportFigure Bars(string title, IReadOnlyList<IntervalBar> bars, string yLabel, string source, IReadOnlyList<BarPoint>? points = null)
    {
        ArgumentNullException.ThrowIfNull(bars);
        var plot = new Plot();
        var color = new ScottPlot.Palettes.Category10().GetColor(0);
        var drawn = bars.Select((b, i) => new Bar { Position = i, Value = b.Value, FillColor = color.WithAlpha(0.55), LineWidth = 0 }).ToList();
        plot.Add.Bars(drawn);
        for (var i = 0; i < bars.Count; i++)
        {
            if (bars[i] is { Low: { } low, High: { } high })
            {
                var error = plot.Add.ErrorBar([(double)i], [bars[i].Value], [0.0]);
                error.YErrorNegative = [bars[i].Value - low];
                error.YErrorPositive = [high - bars[i].Value];
                error.Color = Colors.Black;
                error.LineWidth = 2;
            }
        }
        foreach (var (point, k) in (points ?? []).Select((p, k) => (p, k)))
        {
            // Spread the points of one bar sideways so that equal values stay visible.
            var x = point.Bar - 0.2 + (0.4 * ((k % 5) / 4.0));
            var marker = plot.Add.Marker(x, point.Value);
            marker.Color = Colors.DarkRed;
            marker.Size = 6;
            if (point is { Low: { } low, High: { } high })
            {
                var error = plot.Add.ErrorBar([x], [point.Value], [0.0]);
                error.YErrorNegative = [point.Value - low];
                error.YErrorPositive = [high - point.Value];
                error.Color = Colors.DarkRed.WithAlpha(0.6);
                error.LineWidth = 1;
            }
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            bars.Select((_, i) => (double)i).ToArray(), bars.Select(b => b.Label).ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.YLabel(yLabel);
        return Finish(plot, title, source);
    }

    /// <summary>A scatter plot (EPIC distance against failure rate), one colour per group, with an optional note (an AUC) in the corner.</summary>
    public static ReportFigure Scatter(string title, IReadOnlyList<ScatterPoint> points, string xLabel, string yLabel, string source, string? note = null)
    {
        ArgumentNullException.ThrowIfNull(points);
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        foreach (var (group, i) in points.Select(p => p.Group).Distinct().Select((g, i) => (g, i)))
        {
            var members = points.Where(p => p.Group == group).ToArray();
            var scatter = plot.Add.ScatterPoints(members.Select(p => p.X).ToArray(), members.Select(p => p.Y).ToArray());
            scatter.Color = palette.GetColor(i);
            scatter.MarkerSize = 7;
            scatter.LegendText = group;
        }
        if (note is not null)
        {
            plot.Add.Annotation(note, Alignment.UpperLeft);
        }
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.LowerRight);
        return Finish(plot, title, source);
    }

    /// <summary>
    /// A heatmap over grid cells (an objective's value on each maze cell, a retargeting success map):
    /// <paramref name="values"/>[row, column], row 0 at the top; NaN cells (walls) are drawn grey.
    /// </summary>
    public static ReportFigure Heatmap(string title, double[,] values, string valueLabel, string source) =>
        Finish(HeatmapPlot(values, valueLabel), title, source, width: 520, height: 440);

    /// <summary>
    /// A heatmap over grid cells (as <see cref="Heatmap(string, double[,], string, string)"/>) with agents' paths drawn over it
    /// as lines through the cell centres, one colour and legend entry per path; a path's first cell is marked with a circle.
    /// </summary>
    /// <exception cref="ArgumentException">A path visits a cell outside the grid.</exception>
    public static ReportFigure HeatmapWithPaths(string title, double[,] values, IReadOnlyList<GridPath> paths, string valueLabel, string source)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(paths);
        var plot = HeatmapPlot(values, valueLabel);
        var rows = values.GetLength(0);
        var columns = values.GetLength(1);
        var palette = new ScottPlot.Palettes.Category10();
        for (var i = 0; i < paths.Count; i++)
        {
            var path = paths[i];
            if (path.Cells.Any(c => c.Row < 0 || c.Row >= rows || c.Column < 0 || c.Column >= columns))
            {
                throw new ArgumentException($"path '{path.Name}' leaves the {columns}×{rows} grid", nameof(paths));
            }
            if (path.Cells.Count == 0)
            {
                continue;
            }
            // Paths of several agents often share cells: each is nudged a little so that all stay visible.
            var nudge = paths.Count == 1 ? 0 : (((double)i / (paths.Count - 1)) - 0.5) * 0.3;
            var xs = path.Cells.Select(c => c.Column + nudge).ToArray();
            var ys = path.Cells.Select(c => rows - 1 - c.Row + nudge).ToArray();
            var colour = palette.GetColor(i);
            var line = plot.Add.ScatterLine(xs, ys, colour);
            line.LineWidth = 2.5f;
            line.LegendText = path.Name;
            plot.Add.Marker(xs[0], ys[0], MarkerShape.OpenCircle, 12, colour);
        }
        plot.ShowLegend(Edge.Bottom);
        return Finish(plot, title, source, width: 350, height: 420);
    }

    private static Plot HeatmapPlot(double[,] values, string valueLabel)
    {
        ArgumentNullException.ThrowIfNull(values);
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.NaNCellColor = Colors.Gray;
        var bar = plot.Add.ColorBar(heatmap);
        bar.Label = valueLabel;
        plot.Axes.SquareUnits();
        plot.HideGrid();
        var rows = values.GetLength(0);
        var columns = values.GetLength(1);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, columns).Select(c => (double)c).ToArray(), Enumerable.Range(0, columns).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, rows).Select(r => (double)r).ToArray(), Enumerable.Range(0, rows).Select(r => (rows - 1 - r).ToString(CultureInfo.InvariantCulture)).ToArray());
        plot.XLabel("column");
        plot.YLabel("row");
        return plot;
    }

    /// <summary>An objective's <see cref="Objectives.CellHeatmap"/> (values per maze cell, walls NaN) as a heatmap figure.</summary>
    public static ReportFigure Heatmap(string title, Objectives.CellHeatmap heatmap, string valueLabel, string source) =>
        Heatmap(title, Grid(heatmap), valueLabel, source);

    /// <summary>An objective's <see cref="Objectives.CellHeatmap"/> with agents' paths over it (<see cref="HeatmapWithPaths(string, double[,], IReadOnlyList{GridPath}, string, string)"/>).</summary>
    public static ReportFigure HeatmapWithPaths(string title, Objectives.CellHeatmap heatmap, IReadOnlyList<GridPath> paths, string valueLabel, string source) =>
        HeatmapWithPaths(title, Grid(heatmap), paths, valueLabel, source);

    private static double[,] Grid(Objectives.CellHeatmap heatmap)
    {
        ArgumentNullException.ThrowIfNull(heatmap);
        var rows = heatmap.Values.Length / heatmap.Width;
        var grid = new double[rows, heatmap.Width];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < heatmap.Width; c++)
            {
                grid[r, c] = heatmap.Values[(r * heatmap.Width) + c];
            }
        }
        return grid;
    }

    /// <summary>
    /// A picture the environment family drew (a level with an agent's path, <c>IEnvironmentFamily.Image</c>, an objective's
    /// <see cref="Objectives.CellHeatmap.Image"/>): the PNG inlined as a data URI inside an SVG element, scaled by <paramref name="scale"/> without smoothing.
    /// </summary>
    public static ReportFigure Image(string title, Imaging.RgbImage image, string source, int scale = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);
        var (w, h) = (image.Width * scale, image.Height * scale);
        var svg = string.Create(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\"><image width=\"{w}\" height=\"{h}\" style=\"image-rendering: pixelated\" href=\"data:image/png;base64,{Convert.ToBase64String(image.ToPng())}\"/></svg>");
        return new ReportFigure(title, source, svg);
    }

    private static ReportFigure Finish(Plot plot, string title, string source, int width = Width, int height = Height)
    {
        plot.Title(title);
        var svg = plot.GetSvgXml(width, height);
        var start = svg.IndexOf("<svg", StringComparison.Ordinal);
        svg = start > 0 ? svg[start..] : svg;
        // A viewBox lets the page scale the figure down (to a narrow window or a row of figures) instead of cropping it.
        var tagEnd = svg.IndexOf('>', StringComparison.Ordinal);
        if (tagEnd > 0 && !svg[..tagEnd].Contains("viewBox", StringComparison.Ordinal))
        {
            svg = svg[..tagEnd] + string.Create(CultureInfo.InvariantCulture, $" viewBox=\"0 0 {width} {height}\"") + svg[tagEnd..];
        }
        // A heatmap is a small bitmap (one pixel per cell) that the browser scales up: without this, it blurs the cells together.
        svg = svg.Replace("<image ", "<image style=\"image-rendering: pixelated\" ", StringComparison.Ordinal);
        return new ReportFigure(title, source, UniqueIds(svg));
    }

    // ScottPlot numbers the ids inside each SVG from 0 (heatmaps: id="img_0" used as href="#img_0"); inline in one page,
    // a second figure's reference would resolve to the first figure's element. A prefix from the SVG's own hash keeps
    // ids apart and the page deterministic.
    private static string UniqueIds(string svg)
    {
        var prefix = "f" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(svg)))[..10] + "-";
        svg = IdAttribute().Replace(svg, m => $"id=\"{prefix}{m.Groups[1].Value}\"");
        svg = svg.Replace("href=\"#", "href=\"#" + prefix, StringComparison.Ordinal);
        return svg.Replace("url(#", "url(#" + prefix, StringComparison.Ordinal);
    }

    [System.Text.RegularExpressions.GeneratedRegex("id=\"([^\"]+)\"")]
    private static partial System.Text.RegularExpressions.Regex IdAttribute();
}
