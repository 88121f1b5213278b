using System.Text.Json;
using Telos.Lab.Demo;
using Telos.Testing.Browser;

namespace Telos.Cli.Tests;

/// <summary>
/// <c>telos demo</c> on a tiny config: the run completes, the printed table carries the run's own
/// numbers, and the measured story holds (the true reward always reaches the cheese; goal regression
/// brings the objective closer to the true reward on maze/test).
/// </summary>
[Collection("torch")]
public sealed class DemoCommandTests
{
    private const string TinyConfig = """
        experiment = "demo"
        seed = 3
        size = 5
        step_limit = 30
        ppo_steps = 4096
        train_levels = 30
        steps_per_level = 60
        fit_steps = 150
        test_levels = 12
        labelled_levels = 2
        anchor_weight = 1.0
        planner = "bfs"
        epic_levels = 8
        net_levels = 3
        """;

    [Fact]
    public async Task TinyDemoPrintsTheNumbersItsRunRecorded()
    {
        using var cli = new CliHarness();
        Directory.CreateDirectory(cli.RunsRoot);
        var config = Path.Combine(cli.RunsRoot, "tiny-demo.toml");
        File.WriteAllText(config, TinyConfig);

        var (code, output, error) = cli.Run("demo", "--config", config, "--quiet");

        Assert.True(code == 0, error);
        var runDir = Directory.GetDirectories(cli.RunsRoot, "demo-*").Single();
        var results = JsonSerializer.Deserialize<DemoResults>(File.ReadAllText(Path.Combine(runDir, "results.json")))!;
        var truth = results.Rows.Single(r => r.Objective == "true reward");
        Assert.Equal(1.0, truth.Success);
        var learned = results.Rows.Single(r => r.Objective == "bfs + card");
        var regressed = results.Rows.Single(r => r.Objective == "card regressed");
        Assert.True(regressed.EpicTest < learned.EpicTest, $"EPIC on maze/test: learned {learned.EpicTest}, regressed {regressed.EpicTest}");
        Assert.True(learned.EpicTrain < learned.EpicTest, $"the warning: EPIC train {learned.EpicTrain} vs test {learned.EpicTest}");
        Assert.Equal(["readable", "neural", "learned"], results.Rows.Take(3).Select(r => r.Kind));
        Assert.All(results.Rows.Where(r => r.Goal == "cheese"), r => Assert.NotNull(r.TrainSuccess));
        Assert.Contains("at_cheese ≡ at_corner (|r| = 1.000)", results.Unidentified);
        AssertTableCarries(results.Rows, output, "test", "corner", null, "EPIC", "printed table");
        AssertTableCarries(results.Rows, File.ReadAllText(Path.Combine(runDir, "report.md")), "success", "corner (proxy)", "mean steps", "EPIC test", "report.md");
        var report = Path.Combine(runDir, "report.html");
        Assert.Contains(report, System.Text.RegularExpressions.Regex.Replace(output, @"\s*\n\s*", ""), StringComparison.Ordinal);
        var page = await HeadlessChromium.OpenAsync(report);
        Assert.Empty(page.Errors);
        Assert.True(page.Figures.Count >= 2, $"{page.Figures.Count} figures");
        Assert.All(page.Figures, f => Assert.True(f.Width > 50 && f.Height > 50, $"a figure of {f.Width}×{f.Height}"));
        var learnedCard = Telos.Objectives.ObjectiveCardFile.Load(Path.Combine(runDir, "objectives", "learned.json"));
        Assert.Equal(results.CornerWeight, learnedCard.Weight("at_corner"));
        Assert.Equal(results.CheeseWeight, learnedCard.Weight("at_cheese"));
    }

    /// <summary>
    /// The table in <paramref name="text"/> (console box or Markdown) has one row per recorded row, in order,
    /// and every number in it equals the recorded one to its printed precision.
    /// </summary>
    private static void AssertTableCarries(IReadOnlyList<DemoRow> rows, string text, string success, string corner, string? steps, string epic, string where)
    {
        var table = Table(text);
        Assert.Equal(rows.Select(r => r.Objective), table.Keys);
        foreach (var row in rows)
        {
            var cells = table[row.Objective];
            var what = $"{where}, {row.Objective}";
            AssertPrinted(row.Success * 100, cells[success], halfUnit: 0.5, $"{what}: success");
            AssertPrinted(row.TrainSuccess * 100, cells["train"], halfUnit: 0.5, $"{what}: train");
            if (row.Goal == "cheese")
            {
                AssertPrinted(row.Corner * 100, cells[corner], halfUnit: 0.5, $"{what}: corner");
            }
            else
            {
                Assert.Equal("–", cells[corner]);
            }
            if (steps is not null)
            {
                AssertPrinted(row.MeanSteps, cells[steps], halfUnit: 0.05, $"{what}: steps");
            }
            AssertPrinted(row.EpicTest, cells[epic], halfUnit: 0.0005, $"{what}: EPIC test");
        }
    }

    /// <summary>
    /// The results table in <paramref name="text"/>: for each row (by objective), the text of each cell under
    /// its header. Rows are the lines with column separators (│ or a leading |) after the header line whose first cell is "objective";
    /// a Markdown separator row is skipped.
    /// </summary>
    private static Dictionary<string, Dictionary<string, string>> Table(string text)
    {
        var bordered = text.Split('\n')
            .Select(line => line.Trim())
            .Where(line => line.StartsWith('│') || line.StartsWith('|') || line.Contains('│'))
            .Select(line => line.Trim('│', '|').Split('│', '|').Select(cell => cell.Trim()).ToArray())
            .ToList();
        var headerAt = bordered.FindIndex(cells => cells[0] == "objective");
        Assert.True(headerAt >= 0, $"no table with an 'objective' column in:\n{text}");
        var header = bordered[headerAt];
        return bordered.Skip(headerAt + 1)
            .Where(cells => !cells[0].StartsWith("---", StringComparison.Ordinal))
            .TakeWhile(cells => cells.Length == header.Length)
            .ToDictionary(cells => cells[0], cells => header.Zip(cells).ToDictionary(p => p.First, p => p.Second));
    }

    /// <summary>
    /// A printed number (optionally with a % sign) equals <paramref name="value"/> to its printed precision
    /// (within <paramref name="halfUnit"/>); a null value prints as "–".
    /// </summary>
    private static void AssertPrinted(double? value, string cell, double halfUnit, string what)
    {
        if (value is not { } v)
        {
            Assert.True(cell == "–", $"{what}: recorded none, printed '{cell}'");
            return;
        }
        Assert.True(double.TryParse(cell.TrimEnd('%'), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var printed), $"{what}: '{cell}' is not a number");
        Assert.True(Math.Abs(printed - v) <= halfUnit * (1 + 1e-9), $"{what}: recorded {v}, printed '{cell}'");
    }

    [Fact]
    public void UnknownPlannerIsAnInputError()
    {
        using var cli = new CliHarness();
        var (code, _, error) = cli.Run("demo", "--planner", "teleport");
        Assert.Equal(ExitCodes.InputError, code);
        Assert.Contains("planner", error);
        Assert.False(Directory.Exists(Path.Combine(cli.RunsRoot)) && Directory.GetDirectories(cli.RunsRoot).Length > 0, "nothing written");
    }
}
