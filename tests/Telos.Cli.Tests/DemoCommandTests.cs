using System.Text.Json;
using Telos.Lab.Demo;

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
        size = 7
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
    public void TinyDemoPrintsTheNumbersItsRunRecorded()
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
        var learned = results.Rows.Single(r => r.Objective == "linear");
        var regressed = results.Rows.Single(r => r.Objective == "linear, regressed");
        Assert.True(regressed.EpicTest < learned.EpicTest, $"EPIC on maze/test: learned {learned.EpicTest}, regressed {regressed.EpicTest}");
        Assert.True(learned.EpicTrain < learned.EpicTest, $"the warning: EPIC train {learned.EpicTrain} vs test {learned.EpicTest}");
        foreach (var row in results.Rows)
        {
            Assert.Contains(FormattableString.Invariant($"{row.Success * 100:F0}%"), output);
        }
        Assert.Contains(MisgeneralizationDemo.Num(learned.EpicTest), output);
        Assert.True(File.Exists(Path.Combine(runDir, "report.md")));
        Assert.True(File.Exists(Path.Combine(runDir, "objectives", "learned.json")));
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
