using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Lab.Tests.Experiments;

namespace Telos.Lab.Tests.Reinforcement;

[Collection("torch")]
public sealed class PpoExperimentTests
{
    private const string Tiny = """
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
    /// <summary>Tiny, 6 iterations (checkpoints at 2, 4, 6): episodes end mid-rollout, so the environments, the carried state and the episode sums matter.</summary>
    private static string SixIterations => Tiny.Replace("total_timesteps = 96", "total_timesteps = 192", StringComparison.Ordinal);

    [Theory]
    [InlineData(3, false)] // cancelled after iteration 3: saved on cancel, resumed from iteration 3
    [InlineData(5, true)]  // cancelled after iteration 5, that checkpoint lost: resumed from iteration 4
    public void AnInterruptedRunResumesToTheUninterruptedMetricsAndWeights(int stopAfter, bool loseNewest)
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var straight = runner.Start(runner.Prepare(ConfigFile.Parse(SixIterations, "six.toml"), "six"), new Progress<ProgressUpdate>());
        Assert.Equal(0, straight.ExitCode);

        using var cancel = new CancellationTokenSource();
        var interrupted = runner.Start(runner.Prepare(ConfigFile.Parse(SixIterations, "six.toml"), "six"), new CancelAt(stopAfter * 32L, cancel), cancel.Token);
        Assert.Equal(RunStatus.Interrupted, interrupted.Record.Status);
        var saved = RunFiles.Checkpoints(interrupted.Record.Directory);
        Assert.Equal(stopAfter * 32L, saved[^1].Step);
        if (loseNewest)
        {
            File.Delete(saved[^1].SidecarPath);
        }

        var resumed = runner.Resume(interrupted.Record.ShortId, new Progress<ProgressUpdate>());

        Assert.Equal(0, resumed.ExitCode);
        AssertSameMetrics(straight.Record.Directory, resumed.Record.Directory);
        var finalStraight = RunFiles.Checkpoints(straight.Record.Directory)[^1];
        var finalResumed = RunFiles.Checkpoints(resumed.Record.Directory)[^1];
        Assert.Equal(192, finalResumed.Step);
        Assert.Equal(File.ReadAllBytes(finalStraight.TensorPath), File.ReadAllBytes(finalResumed.TensorPath));
        Assert.Equal(File.ReadAllLines(Path.Combine(straight.Record.Directory, "report.md"))[4..], File.ReadAllLines(Path.Combine(resumed.Record.Directory, "report.md"))[4..]);
    }

    /// <summary>Every row, every value but the wall-clock <c>charts/SPS</c>, bit for bit.</summary>
    internal static void AssertSameMetrics(string expectedRun, string actualRun)
    {
        var expected = MetricsCsv.ReadFile(Path.Combine(expectedRun, "metrics.csv")).Rows;
        var actual = MetricsCsv.ReadFile(Path.Combine(actualRun, "metrics.csv")).Rows;
        Assert.Equal(expected.Select(r => r.Step), actual.Select(r => r.Step));
        for (var i = 0; i < expected.Count; i++)
        {
            var keys = expected[i].Values.Keys.Where(k => k != "charts/SPS").Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(keys, actual[i].Values.Keys.Where(k => k != "charts/SPS").Order(StringComparer.Ordinal));
            Assert.Equal(keys.Select(k => expected[i].Values[k]), keys.Select(k => actual[i].Values[k]));
        }
    }

    internal sealed class CancelAt(long stopAt, CancellationTokenSource cancel) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
            if (value.Done >= stopAt)
            {
                cancel.Cancel();
            }
        }
    }
}
