using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Lab.Search;
using Telos.Lab.Tests.Experiments;
using Telos.Lab.Tests.Reinforcement;
using Telos.Learning.Reinforcement.Policies;

namespace Telos.Lab.Tests.Search;

[Collection("torch")]
public sealed class SearchTrainingExperimentTests
{
    /// <summary>6 iterations of 4 × 8 steps at 4 simulations on 5×5 mazes (step limit 10, so episodes end mid-iteration), 20 evaluation levels, probes and value comparison on a few levels.</summary>
    private const string Six = """
        experiment = "search-train"
        seed = 3
        eval_episodes = 20
        conv_channels = 4
        features = 16
        num_envs = 4
        num_steps = 8
        total_timesteps = 192
        simulations = 4
        minibatch_size = 16
        updates_per_iteration = 2
        checkpoint_every = 2
        probe_levels = 6
        value_levels = 3

        [params]
        size = 5
        step_limit = 10
        """;

    private static ExperimentRunner Runner(TempFolder temp) => new(new RunStore(temp.Combine("runs")), ExperimentCatalog.Discover());

    private static Dictionary<string, RunResult> Results(string run) =>
        RunResults.Read(Path.Combine(run, RunResults.FileName)).Items.ToDictionary(r => r.Name);

    /// <summary>A row of metrics per iteration (the policy-improvement check among them, in TensorBoard too), checkpoints, and results for both agents on both distributions and the signatures.</summary>
    [Fact]
    public void ARunLogsChecksImprovementAndMeasuresBothAgents()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(Six, "six.toml"), "six"), new Progress<ProgressUpdate>());

        Assert.Equal(0, outcome.ExitCode);
        var rows = MetricsCsv.ReadFile(Path.Combine(outcome.Record.Directory, "metrics.csv")).Rows;
        Assert.Equal([32L, 64L, 96L, 128L, 160L, 192L], rows.Select(r => r.Step));
        Assert.All(rows, r => Assert.True(r.Values["search/policy_improvement_min"] >= -1e-5));
        Assert.Contains(rows, r => r.Values.ContainsKey("losses/policy_loss"));
        Assert.Equal([64L, 128L, 192L], RunFiles.Checkpoints(outcome.Record.Directory).Select(c => c.Step));
        var events = File.ReadAllBytes(Assert.Single(Directory.GetFiles(Path.Combine(outcome.Record.Directory, "tb"), "events.out.tfevents.*")));
        foreach (var tag in new[] { "search/policy_improvement", "charts/SPS", "losses/value_loss", "charts/success_rate" })
        {
            Assert.True(events.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(tag)) >= 0, $"no '{tag}' tag in the TensorBoard events");
        }
        var results = Results(outcome.Record.Directory);
        foreach (var agent in new[] { "network", "search" })
        {
            foreach (var distribution in new[] { "maze/train", "maze/test" })
            {
                Assert.Equal(20, results[$"{agent}/{distribution}/success"].Rate!.Value.Of);
            }
        }
        Assert.Contains("probe/encoder.linear/cheese_cell/accuracy", results.Keys);
        Assert.Contains("probe/encoder.conv1/action_+8/accuracy", results.Keys);
        Assert.InRange(results["value/maze_test/epic_true"].Value, 0, 1);
        // On maze/train the cheese is in the corner: the true and the proxy objective are the same.
        Assert.Equal(results["value/maze_train/epic_true"].Value, results["value/maze_train/epic_proxy"].Value);
        Assert.NotEqual(results["value/maze_test/epic_true"].Value, results["value/maze_test/epic_proxy"].Value);
        var report = File.ReadAllLines(Path.Combine(outcome.Record.Directory, "report.md"));
        Assert.Single(report, line => line.StartsWith("| with search, n = 4 | maze/test | ", StringComparison.Ordinal) && line.Contains("/20 (", StringComparison.Ordinal));
    }

    /// <summary>Cancelled after iteration 3 (saved on cancel) and resumed: the same metrics, final weights, results and report as the uninterrupted run.</summary>
    [Fact]
    public void AnInterruptedRunResumesToTheUninterruptedMetricsAndWeights()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var straight = runner.Start(runner.Prepare(ConfigFile.Parse(Six, "six.toml"), "six"), new Progress<ProgressUpdate>());
        Assert.Equal(0, straight.ExitCode);

        using var cancel = new CancellationTokenSource();
        var interrupted = runner.Start(runner.Prepare(ConfigFile.Parse(Six, "six.toml"), "six"), new PpoExperimentTests.CancelAt(96, cancel), cancel.Token);
        Assert.Equal(RunStatus.Interrupted, interrupted.Record.Status);
        Assert.Equal(96L, RunFiles.Checkpoints(interrupted.Record.Directory)[^1].Step);

        var resumed = runner.Resume(interrupted.Record.ShortId, new Progress<ProgressUpdate>());

        Assert.Equal(0, resumed.ExitCode);
        PpoExperimentTests.AssertSameMetrics(straight.Record.Directory, resumed.Record.Directory);
        Assert.Equal(File.ReadAllBytes(RunFiles.Checkpoints(straight.Record.Directory)[^1].TensorPath), File.ReadAllBytes(RunFiles.Checkpoints(resumed.Record.Directory)[^1].TensorPath));
        static string[] Measured(Dictionary<string, RunResult> results) =>
            [.. results.Values.Where(r => !r.Name.StartsWith("time/", StringComparison.Ordinal) && !r.Name.StartsWith("search/policy_improvement", StringComparison.Ordinal))
                .Select(r => FormattableString.Invariant($"{r.Name} {r.Value:R}"))];
        Assert.Equal(Measured(Results(straight.Record.Directory)), Measured(Results(resumed.Record.Directory)));
        Assert.Equal(File.ReadAllLines(Path.Combine(straight.Record.Directory, "report.md"))[4..], File.ReadAllLines(Path.Combine(resumed.Record.Directory, "report.md"))[4..]);
    }

    /// <summary>The recurrent family: policy = "drc" with its keys trains, checkpoints a DRC, and measures the network alone at 0, 1, 2, 4, 8 thinking steps.</summary>
    [Fact]
    public void ADrcRunMeasuresTheThinkingTimeCurve()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var config = Six.Replace("features = 16\n", "features = 16\npolicy = \"drc\"\ndrc_layers = 1\ndrc_ticks = 2\ndrc_channels = 4\n", StringComparison.Ordinal)
            .Replace("probe_levels = 6\n", "probe_levels = 4\n", StringComparison.Ordinal);
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(config, "drc.toml"), "drc"), new Progress<ProgressUpdate>());

        Assert.Equal(0, outcome.ExitCode);
        var results = Results(outcome.Record.Directory);
        foreach (var distribution in new[] { "maze/train", "maze/test" })
        {
            foreach (var k in new[] { 0, 1, 2, 4, 8 })
            {
                Assert.Equal(20, results[$"thinking/k{k}/{distribution}/success"].Rate!.Value.Of);
            }
            // K = 0 is the network alone, through the same levels and seeds.
            Assert.Equal(results[$"network/{distribution}/success"].Rate, results[$"thinking/k0/{distribution}/success"].Rate);
        }
        Assert.Contains("probe/drc.layer0.hidden/cheese_cell/accuracy", results.Keys);
        var report = File.ReadAllText(Path.Combine(outcome.Record.Directory, "report.md"));
        Assert.Contains("DRC(1, 2)", report, StringComparison.Ordinal);
        Assert.Contains("| network alone, 8 thinking steps | maze/test |", report, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("simulations = 0", "six.toml:9: key 'simulations'")]
    [InlineData("total_timesteps = 31", "six.toml:8: key 'total_timesteps': 31 is less than one iteration")]
    [InlineData("policy = \"lstm\"", "six.toml:16: key 'policy': expected one of")]
    [InlineData("drc_layers = 2", "six.toml:16: key 'drc_layers': applies to policy = \"drc\" only")]
    [InlineData("control = \"time\"", "six.toml:16: key 'control': expected one of")]
    [InlineData("value_levels = 0\nvalue_label_budgets = [0, 4]", "six.toml:15: key 'value_label_budgets': the value head's regression is measured on the value_levels levels")]
    public void BadConfigsFailBeforeAnythingIsWritten(string replacement, string expectedPrefix)
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var key = replacement[..replacement.IndexOf(' ', StringComparison.Ordinal)];
        var lines = Six.Split('\n').ToList();
        var at = lines.FindIndex(l => l.StartsWith(key + " ", StringComparison.Ordinal));
        if (at < 0)
        {
            lines.Insert(15, replacement);
        }
        else
        {
            lines[at] = replacement;
        }
        var error = Assert.Throws<TelosInputException>(() => runner.Prepare(ConfigFile.Parse(string.Join('\n', lines), "six.toml"), "six"));
        Assert.StartsWith(expectedPrefix, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(Directory.Exists(runner.Store.Root));
    }

    /// <summary>
    /// The shipped equal-compute sweeps: every budget trains the whole iterations that fit in n = 1's network rows (n = 1 as many steps as in
    /// the equal-steps sweep), every cell runs the value head's regression at k = 0, 1, 4, 16, 64, and every configuration's label names the control.
    /// </summary>
    [Theory]
    [InlineData("search-budget-compute.toml", new long[] { 409_600, 336_896, 197_632, 73_728 })]
    [InlineData("search-budget-compute-quick.toml", new long[] { 8192, 6656, 3840, 1280 })]
    [InlineData("search-budget-drc-compute.toml", new long[] { 102_400, 83_968, 49_152, 18_432 })]
    public void TheShippedComputeSweepsGiveEveryBudgetTheReferencesCompute(string file, long[] timesteps)
    {
        using var temp = new TempFolder();
        var prepared = Runner(temp).Prepare(Path.Combine(ExperimentRunnerTests.RepoRoot(), "experiments", file));
        var cells = prepared.Sweep!.Cells.Select(c => new SearchTrainingExperiment().Configure(ConfigFile.Parse(c.ResolvedToml, "cell.toml"))).ToArray();
        Assert.Equal([1, 1, 1, 4, 4, 4, 16, 16, 16, 64, 64, 64], cells.Select(c => c.Training.Simulations));
        Assert.Equal(timesteps.SelectMany(t => new[] { t, t, t }), cells.Select(c => c.Training.TotalTimesteps));
        var reference = Learning.Planning.SearchCompute.Rows(cells[0].Training);
        Assert.All(cells, c => Assert.InRange(Learning.Planning.SearchCompute.Rows(c.Training), reference - Learning.Planning.SearchCompute.RowsPerIteration(c.Training) + 1, reference));
        Assert.All(cells, c => Assert.Equal([0, 1, 4, 16, 64], c.Control.ValueLabelBudgets));
        Assert.All(cells, c => Assert.Equal(SearchControls.EqualCompute, c.Control.Control));
        Assert.All(Enumerable.Range(0, prepared.Sweep.Configurations), i => Assert.StartsWith("control=\"compute\", simulations=", prepared.Sweep.ConfigurationLabel(i), StringComparison.Ordinal));
    }

    /// <summary>The shipped sweeps: budgets 1, 4, 16, 64 × seeds 1, 2, 3, every cell on the corner-cheese maze/train for the same environment steps.</summary>
    [Theory]
    [InlineData("search-budget.toml", 409_600)]
    [InlineData("search-budget-quick.toml", 8192)]
    [InlineData("search-budget-drc.toml", 102_400)]
    [InlineData("search-budget-drc-quick.toml", 8192)]
    public void TheShippedSweepsGiveEveryBudgetTheSameSteps(string file, long timesteps)
    {
        using var temp = new TempFolder();
        var prepared = Runner(temp).Prepare(Path.Combine(ExperimentRunnerTests.RepoRoot(), "experiments", file));
        Assert.IsType<SearchTrainingExperiment>(prepared.Experiment);
        var cells = prepared.Sweep!.Cells.Select(c => new SearchTrainingExperiment().Configure(ConfigFile.Parse(c.ResolvedToml, "cell.toml"))).ToArray();
        Assert.Equal([1, 1, 1, 4, 4, 4, 16, 16, 16, 64, 64, 64], cells.Select(c => c.Training.Simulations));
        Assert.Equal([1L, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3], prepared.Sweep.Cells.Select(c => c.Seed));
        Assert.All(cells, c => Assert.Equal(timesteps, c.Training.TotalTimesteps));
        Assert.All(cells, c => Assert.Equal((1, 7, c.Training.Simulations), (c.Parameters["region"], c.Parameters["size"], c.EvalSimulations)));
        Assert.All(cells, c => Assert.Equal(file.Contains("drc", StringComparison.Ordinal) ? PolicyKind.Drc : PolicyKind.Cnn, c.Policy.Kind));
    }
}
