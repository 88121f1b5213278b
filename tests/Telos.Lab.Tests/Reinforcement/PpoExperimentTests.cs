using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Lab.Tests.Experiments;

namespace Telos.Lab.Tests.Reinforcement;

public sealed class PpoExperimentTests
{
    /// <summary>3 iterations of 4 × 8 steps on 5×5 mazes, 20 evaluation levels (also used by the report tests).</summary>
    internal const string Tiny = """
        experiment = "ppo"
        seed = 3
        eval_episodes = 20
        conv_channels = 4
        features = 16
        lstm_size = 8
        num_envs = 4
        num_steps = 8
        total_timesteps = 96
        num_minibatches = 2
        update_epochs = 1
        checkpoint_every = 2

        [params]
        size = 5
        step_limit = 10
        """;

    private static ExperimentRunner Runner(TempFolder temp) => new(new RunStore(temp.Combine("runs")), ExperimentCatalog.Discover());

    [Fact]
    public void TheShippedConfigValidates()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var prepared = runner.Prepare(Path.Combine(ExperimentRunnerTests.RepoRoot(), "experiments", "ppo-maze.toml"));
        Assert.IsType<PpoExperiment>(prepared.Experiment);
        var settings = Assert.IsType<PpoExperimentSettings>(prepared.Settings);
        Assert.Equal(5, settings.Parameters["size"]);
        Assert.Equal(100, settings.Ppo.NumIterations);
    }

    /// <summary>3 iterations of 4 × 8 steps: a row of CleanRL metrics per iteration, checkpoints at iterations 2 and 3, and a report evaluating maze/train and maze/test.</summary>
    [Fact]
    public void ATinyRunLogsCheckpointsAndReportsBothDistributions()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(Tiny, "tiny.toml"), "tiny"), new Progress<ProgressUpdate>());

        Assert.Equal(0, outcome.ExitCode);
        var rows = MetricsCsv.ReadFile(Path.Combine(outcome.Record.Directory, "metrics.csv")).Rows;
        Assert.Equal([32L, 64L, 96L], rows.Select(r => r.Step));
        Assert.All(rows, r => Assert.True(r.Values.ContainsKey("losses/approx_kl") && r.Values.ContainsKey("losses/explained_variance")));
        Assert.Equal([64L, 96L], RunFiles.Checkpoints(outcome.Record.Directory).Select(c => c.Step));
        var report = File.ReadAllLines(Path.Combine(outcome.Record.Directory, "report.md"));
        Assert.Single(report, line => line.StartsWith("| maze/train | ", StringComparison.Ordinal) && line.Contains("/20 (", StringComparison.Ordinal));
        Assert.Single(report, line => line.StartsWith("| maze/test | ", StringComparison.Ordinal) && line.Contains("/20 (", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("num_minibatches = 3", "tiny.toml:10: key 'num_minibatches': 3 must divide num_envs 4")]
    [InlineData("total_timesteps = 31", "tiny.toml:9: key 'total_timesteps': 31 is less than one rollout")]
    [InlineData("policy = \"gru\"", "tiny.toml:13: key 'policy': expected one of")]
    public void BadConfigsFailBeforeAnythingIsWritten(string replacement, string expectedPrefix)
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var key = replacement[..replacement.IndexOf(' ', StringComparison.Ordinal)];
        var lines = Tiny.Split('\n').ToList();
        var at = lines.FindIndex(l => l.StartsWith(key + " ", StringComparison.Ordinal));
        if (at < 0)
        {
            lines.Insert(12, replacement);
        }
        else
        {
            lines[at] = replacement;
        }
        var error = Assert.Throws<TelosInputException>(() => runner.Prepare(ConfigFile.Parse(string.Join('\n', lines), "tiny.toml"), "tiny"));
        Assert.StartsWith(expectedPrefix, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(runner.Store.Root));
    }
}
