using System.Text.RegularExpressions;
using Telos.Environments;
using Telos.Imaging;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Reports;
using Telos.Lab.Runs;
using Telos.Testing.Browser;

namespace Telos.Lab.Tests.Reports;

public sealed partial class HtmlReportTests
{
    /// <summary>A report with one figure of every kind the lab uses, and a table.</summary>
    private static HtmlReport EveryKind()
    {
        var rows = Enumerable.Range(1, 30).Select(i => new MetricsRow(i * 100, new Dictionary<string, double> { ["loss"] = 1.0 / i, ["return"] = Math.Sqrt(i) })).ToList();
        var k = new double[] { 0, 1, 4, 16, 64 };
        var heat = new double[5, 5];
        for (var r = 0; r < 5; r++)
        {
            for (var c = 0; c < 5; c++)
            {
                heat[r, c] = (r + c) % 4 == 3 ? double.NaN : r - c;
            }
        }
        var picture = new RgbImage(10, 10);
        picture.Fill(2, 2, 4, 4, new Rgb(200, 30, 30));
        return new HtmlReport("every figure kind")
            .Paragraph("Figures of each kind; `code` spans and <escaped> text.")
            .Figure(Figures.LearningCurves("learning curves", rows, ["loss", "return"], "run r1: metrics.csv"))
            .Figure(Figures.Bars("success and proxy", [new IntervalBar("train success", 0.8, 0.7, 0.88), new IntervalBar("test proxy", 0.3, 0.2, 0.42), new IntervalBar("no interval", 0.5, null, null)], "rate", "run r1: results.json", [new BarPoint(0, 0.75, 0.6, 0.85)]))
            .Figure(Figures.Curves("k-label curve", [new Curve("card", k, [0.2, 0.5, 0.7, 0.9, 0.95], [0.1, 0.4, 0.6, 0.85, 0.9], [0.3, 0.6, 0.8, 0.95, 0.99]), new Curve("policy", k, [0.2, 0.25, 0.3, 0.4, 0.6])], "labels k", "success", "run r2: results.json"))
            .Figure(Figures.Scatter("EPIC vs failure", [new ScatterPoint(0.1, 0.05, "linear"), new ScatterPoint(0.4, 0.5, "linear"), new ScatterPoint(0.3, 0.7, "network")], "EPIC distance", "failure rate", "run r3: results.json", "AUC 0.83 [0.70, 0.94]"))
            .Figure(Figures.Heatmap("objective heatmap", heat, "V", "run r4: heatmap.json"))
            .Figure(Figures.Heatmap("retargeting map", new double[,] { { 0.9, 0.1 }, { double.NaN, 0.5 } }, "success", "run r5: results.json"))
            .Figure(Figures.Image("a level", picture, "run r4: level 3", scale: 8))
            .FigureRow([
                Figures.HeatmapWithPaths("paths over an objective", heat, [new GridPath("bfs", [(4, 0), (3, 0), (3, 1)]), new GridPath("vi", [(4, 0), (4, 1)])], "V", "run r6: paths.json"),
                Figures.HeatmapWithPaths("a path alone", heat, [new GridPath("ppo", [(0, 0), (0, 1), (1, 1)])], "V", "run r6: paths.json"),
            ])
            .Table(new ReportTable("numbers", ["agent", "success"], [["card", "0.800"], ["policy", "0.300"]], "run r1: results.json"));
    }

    [Fact]
    public async Task EveryFigureKindRendersInChromiumWithoutConsoleErrors()
    {
        using var temp = new TempFolder();
        var report = EveryKind();
        var path = temp.Combine("report.html");
        File.WriteAllText(path, report.ToHtml());

        var page = await HeadlessChromium.OpenAsync(path);

        Assert.Empty(page.Errors);
        Assert.Equal(9, report.FigureCount);
        Assert.Equal(report.FigureCount, page.Figures.Count);
        Assert.All(page.Figures, f => Assert.True(f.Width > 50 && f.Height > 50, $"figure rendered {f.Width} × {f.Height}"));
    }

    [Fact]
    public void ThePageLoadsNothingFromOutsideAndNamesEachFiguresSource()
    {
        var html = EveryKind().ToHtml();
        Assert.Empty(ExternalReference().Matches(html).Select(m => m.Value));
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(
            ["run r1: metrics.csv", "run r1: results.json", "run r2: results.json", "run r3: results.json", "run r4: heatmap.json", "run r5: results.json", "run r4: level 3", "run r6: paths.json", "run r6: paths.json"],
            FigureSource().Matches(html).Select(m => m.Groups[1].Value));
        Assert.Contains("<code>code</code> spans and &lt;escaped&gt; text.", html, StringComparison.Ordinal);
        // Ids are unique across the page's figures, and every internal reference names one of them.
        var ids = Regex.Matches(html, "id=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(Regex.Matches(html, "href=\"#([^\"]+)\"").Select(m => m.Groups[1].Value), id => Assert.Contains(id, ids));
    }

    [Fact]
    public async Task ABrokenPageIsCaught()
    {
        // The checks themselves must be able to fail: a script error and an empty figure are reported.
        using var temp = new TempFolder();
        var path = temp.Combine("broken.html");
        File.WriteAllText(path, "<!DOCTYPE html><html><body><figure class=\"telos-figure\"><svg width=\"0\" height=\"0\"></svg></figure><script>console.error('boom'); undefinedCall();</script></body></html>");

        var page = await HeadlessChromium.OpenAsync(path);

        Assert.Equal(2, page.Errors.Count);
        Assert.Equal("console: boom", page.Errors[0]);
        Assert.StartsWith("page: ", page.Errors[1], StringComparison.Ordinal);
        Assert.Equal([(0.0, 0.0)], page.Figures);
    }

    [Fact]
    public async Task ASweepsReportRendersInChromium()
    {
        using var temp = new TempFolder();
        var runner = new ExperimentRunner(new RunStore(temp.Combine("runs")), ExperimentCatalog.Discover());
        var prepared = runner.Prepare(ConfigFile.Parse("experiment = \"sweep-probe\"\n[sweep]\nseeds = [1, 2, 3]\n[sweep.axes]\nscale = [1.0, 2.0]\n", "probe.toml"), "probe");
        var outcome = runner.Start(prepared, new Progress<ProgressUpdate>());
        Assert.Equal(0, outcome.ExitCode);

        var page = await HeadlessChromium.OpenAsync(Path.Combine(outcome.Record.Directory, "report.html"));

        Assert.Empty(page.Errors);
        Assert.Equal(2, page.Figures.Count);   // score and test/success
        Assert.All(page.Figures, f => Assert.True(f.Width > 50 && f.Height > 50, $"figure rendered {f.Width} × {f.Height}"));
    }

    [Fact]
    public void ACellHeatmapIsDrawnRowByRowFromTheTop()
    {
        var level = (Maze)MazeFamily.Instance.Distribution("maze/test", DistributionParameters.Of(("size", 5))).Level(3);
        var heatmap = Objectives.ObjectiveHeatmap.Maze(level, new RowIndex());
        var figure = Figures.Heatmap("rows", heatmap, "row", "run r: test");
        Assert.StartsWith("<svg", figure.Svg, StringComparison.Ordinal);
        Assert.Equal("run r: test", figure.Source);
    }

    [Fact]
    public void PathsOverAHeatmapAreNamedInTheLegendAndMustStayOnTheGrid()
    {
        var heat = new double[3, 4];
        var figure = Figures.HeatmapWithPaths("two paths", heat, [new GridPath("first-agent", [(2, 0), (1, 0)]), new GridPath("second-agent", [(0, 3)])], "V", "run r: paths.json");
        // ScottPlot draws text as outlines, so the paths are told apart by their colours (Category10's first and second).
        var alone = Figures.HeatmapWithPaths("one path", heat, [new GridPath("first-agent", [(2, 0), (1, 0)])], "V", "run r: paths.json");
        Assert.Contains("#1F77B4\"", alone.Svg, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("#FF7F0E\"", alone.Svg, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("#FF7F0E\"", figure.Svg, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("viewBox=\"0 0 350 420\"", figure.Svg, StringComparison.Ordinal);
        var error = Assert.Throws<ArgumentException>(() => Figures.HeatmapWithPaths("off", heat, [new GridPath("lost", [(0, 0), (0, 4)])], "V", "run r"));
        Assert.StartsWith("path 'lost' leaves the 4×3 grid", error.Message, StringComparison.Ordinal);
        var row = new HtmlReport("row").FigureRow([figure, figure]).ToHtml();
        Assert.Single(Regex.Matches(row, "<div class=\"telos-row\">"));
        Assert.Equal(2, Regex.Matches(row, "<figure class=\"telos-figure\"").Count);
    }

    [GeneratedRegex("(?:src|href)\\s*=\\s*\"(?!data:|#f[0-9a-f]{10}-)[^\"]*\"")]
    private static partial Regex ExternalReference();

    [GeneratedRegex("<figure class=\"telos-figure\" data-source=\"([^\"]*)\">")]
    private static partial Regex FigureSource();

    private sealed class RowIndex : Objectives.IStateEvaluator<MazeState>
    {
        public void Evaluate(ReadOnlySpan<MazeState> states, Span<double> values)
        {
            for (var i = 0; i < states.Length; i++)
            {
                values[i] = states[i].Cell;
            }
        }
    }
}
