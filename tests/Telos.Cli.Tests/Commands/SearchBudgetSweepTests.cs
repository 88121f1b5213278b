using Telos.Lab.Runs;
using Telos.Lab.Search;
using Telos.Testing.Browser;

namespace Telos.Cli.Tests.Commands;

/// <summary>A tiny equal-compute search-budget sweep (n = 1 and 4 × two seeds, the value head's k-curve at k = 0, 1, 4), run once for the tests below.</summary>
public sealed class SearchBudgetSweepFixture : IDisposable
{
    /// <summary>experiments/search-budget-compute-quick.toml's questions at the smallest settings that still give every figure.</summary>
    public const string Config = """
        experiment = "search-train"
        compute_reference_simulations = 1
        eval_episodes = 4
        probe_levels = 6
        value_levels = 2
        value_label_budgets = [0, 1, 4]
        value_regression_steps = 10
        conv_channels = 4
        features = 16
        num_envs = 4
        num_steps = 4
        total_timesteps = 64
        minibatch_size = 16
        updates_per_iteration = 1
        checkpoint_every = 100

        [params]
        size = 5
        step_limit = 10

        [sweep]
        seeds = [1, 2]

        [sweep.axes]
        control = ["compute"]
        simulations = [1, 4]
        """;

    public SearchBudgetSweepFixture()
    {
        Directory.CreateDirectory(Folder);
        var path = Path.Combine(Folder, "search-budget-tiny.toml");
        File.WriteAllText(path, Config);
        var root = Path.Combine(Folder, "runs");
        Code = TelosProcess.InProcess(root, "run", path, "--jobs", "2");
        Sweep = new RunStore(root).List().Single().Directory;
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "telos-search-budget-tests", Guid.NewGuid().ToString("N"));

    /// <summary>The sweep's exit code.</summary>
    public int Code { get; }

    /// <summary>The sweep's run directory.</summary>
    public string Sweep { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The search-budget sweep's own section: its tables name the control of every configuration, its report draws every signature against the budget.</summary>
public sealed class SearchBudgetSweepTests(SearchBudgetSweepFixture fixture) : IClassFixture<SearchBudgetSweepFixture>
{
    /// <summary>n = 1 trains n = 1's 4 iterations (80 rows each), n = 4 the 2 that fit in those 320 rows (128 each); every table row names the control.</summary>
    [Fact]
    public void TheTablesNameTheControlAndTheStepsEachBudgetWasGiven()
    {
        Assert.Equal(0, fixture.Code);
        var tables = File.ReadAllText(Path.Combine(fixture.Sweep, "tables.md"));
        Assert.Contains("# search-train: signatures against the search budget", tables, StringComparison.Ordinal);
        Assert.Contains("| control=\"compute\", simulations=1 | equal compute (n = 1's network rows) | 1 | 64 | 320 |", tables, StringComparison.Ordinal);
        Assert.Contains("| control=\"compute\", simulations=4 | equal compute (n = 1's network rows) | 4 | 32 | 256 |", tables, StringComparison.Ordinal);
        Assert.Contains("## " + SearchBudgetAnalysis.RegressionResult(4, "maze/test") + "/epic_true", tables, StringComparison.Ordinal);
        Assert.Contains("## Goal regression of the value head", tables, StringComparison.Ordinal);
        // What the fit knows of its labels is written once per k, not again under each distribution it is measured on.
        Assert.Contains("## value_regression/k4/label_error_after\n", tables, StringComparison.Ordinal);
        Assert.DoesNotContain("/maze_train/label_error", tables, StringComparison.Ordinal);
        Assert.DoesNotContain("/maze_test/goal_labels", tables, StringComparison.Ordinal);
    }

    /// <summary>The report opens in Chromium without an error, with every figure drawn: success on both distributions, the value head's EPIC, the four probe targets and the two k-curves.</summary>
    [Fact]
    public async Task TheSweepReportOpensInChromiumWithEverySignatureDrawnAgainstTheBudget()
    {
        Assert.Equal(0, fixture.Code);
        var report = Path.Combine(fixture.Sweep, "report.html");
        var page = await HeadlessChromium.OpenAsync(report);
        Assert.Empty(page.Errors);
        Assert.Equal(2 + 1 + 4 + 2, page.Figures.Count);
        Assert.All(page.Figures, f => Assert.True(f.Width > 50 && f.Height > 50, $"a figure of {f.Width}×{f.Height}"));
        var html = File.ReadAllText(report);
        Assert.Contains("The control of each configuration", html, StringComparison.Ordinal);
        Assert.Contains("probe accuracy per layer: action +8", html, StringComparison.Ordinal);
        // Each of the four probe figures has a line (and a legend entry) per layer, beside the baseline.
        foreach (var layer in new[] { "observation", "encoder.conv1", "encoder.conv2", "encoder.linear" })
        {
            Assert.True(html.Split(layer).Length - 1 >= 4, $"'{layer}' is in fewer than four figures' legends");
        }
        Assert.Contains("value head EPIC to the true objective on maze/test after k labels", html, StringComparison.Ordinal);
    }
}
