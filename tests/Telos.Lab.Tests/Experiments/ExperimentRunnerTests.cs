using System.Security.Cryptography;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;

namespace Telos.Lab.Tests.Experiments;

[Collection("torch")]
public sealed class ExperimentRunnerTests
{
    // 60 steps of a 2-8-1 network: milliseconds, yet it exercises logging, checkpoints and resume.
    private const string Tiny = """
        experiment = "mlp-regression"
        seed = 5
        steps = 60
        batch_size = 16
        hidden = [8]
        eval_points = 32
        log_every = 10
        checkpoint_every = 20
        """;

    [Fact]
    public void CatalogFindsTheShippedExperiment()
    {
        var catalog = ExperimentCatalog.Discover();
        Assert.Contains("mlp-regression", catalog.Kinds);
        Assert.IsType<MlpRegression>(catalog.Find("mlp-regression"));
    }

    [Fact]
    public void TheShippedConfigValidates()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var prepared = runner.Prepare(Path.Combine(RepoRoot(), "experiments", "mlp-regression.toml"));
        Assert.Equal("mlp-regression", prepared.Name);
        Assert.Equal(1, prepared.Seed);
        Assert.False(Directory.Exists(runner.Store.Root));
    }

    [Theory]
    [InlineData("experiment = \"nope\"", "x.toml:1: key 'experiment': expected one of")]
    [InlineData("seed = 1", "x.toml:1: key 'experiment': missing; expected one of")]
    [InlineData("experiment = \"mlp-regression\"\nsteps = 0", "x.toml:2: key 'steps': expected integer in [1, 10000000], got 0")]
    [InlineData("experiment = \"mlp-regression\"\nhidden = [8, 0]", "x.toml:2: key 'hidden[1]': expected integer in [1, 4096], got 0")]
    [InlineData("experiment = \"mlp-regression\"\nlearning_rate = \"fast\"", "x.toml:2: key 'learning_rate': expected float in [1e-07, 1.0], got string \"fast\"")]
    [InlineData("experiment = \"mlp-regression\"\n\nstpes = 10", "x.toml:3: key 'stpes': unknown key (known here: experiment, seed")]
    [InlineData("experiment = \"mlp-regression\"\nseed = -4", "x.toml:2: key 'seed': expected integer >= 0, got -4")]
    public void BadConfigsFailBeforeAnythingIsWritten(string text, string expectedPrefix)
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var error = Assert.Throws<TelosInputException>(() => runner.Prepare(ConfigFile.Parse(text, "x.toml"), "x"));
        Assert.StartsWith(expectedPrefix, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(runner.Store.Root));
    }

    [Fact]
    public void SameSeedGivesTheSameMetricsAndADifferentSeedDoesNot()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var a = Start(runner, Tiny, seed: null);
        var b = Start(runner, Tiny, seed: null);
        var c = Start(runner, Tiny, seed: 6);
        Assert.All([a, b, c], o => Assert.Equal((RunStatus.Completed, 0), (o.Record.Status, o.ExitCode)));
        var metricsA = File.ReadAllText(Path.Combine(a.Record.Directory, "metrics.csv"));
        Assert.Equal(7, metricsA.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(metricsA, File.ReadAllText(Path.Combine(b.Record.Directory, "metrics.csv")));
        Assert.NotEqual(metricsA, File.ReadAllText(Path.Combine(c.Record.Directory, "metrics.csv")));
        Assert.Equal(a.Record.ConfigHash, b.Record.ConfigHash);
        Assert.NotEqual(a.Record.ConfigHash, c.Record.ConfigHash);
        Assert.Contains("seed = 6", File.ReadAllLines(Path.Combine(c.Record.Directory, "config.toml")).Select(l => l.Trim()));
        var rows = RunFiles.ReadMetrics(a.Record.Directory);
        Assert.True(rows[^1].Values["eval_loss"] < rows[0].Values["eval_loss"], "training should reduce the held-out loss");
        // The report's table ends with the last logged step's numbers.
        var last = rows[^1];
        Assert.Contains(
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"| {last.Step} | {last.Values["loss"]:G5} | {last.Values["eval_loss"]:G5} |"),
            File.ReadAllLines(Path.Combine(a.Record.Directory, "report.md")));
    }

    [Theory]
    [InlineData(30, false)] // stopped mid-way: checkpoint saved on cancellation at step 30
    [InlineData(35, true)]  // killed: the step-35 checkpoint never finished, resume goes back to step 20
    public void ResumeReachesTheSameNumbersAsAStraightRun(int stopAt, bool loseLastCheckpoint)
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var straight = Start(runner, Tiny, seed: null);

        using var cancel = new CancellationTokenSource();
        var stopper = new Stopper(stopAt, cancel);
        var interrupted = runner.Start(runner.Prepare(ConfigFile.Parse(Tiny, "tiny.toml"), "tiny"), stopper, cancel.Token);
        Assert.Equal(RunStatus.Interrupted, interrupted.Record.Status);
        Assert.Equal(1, interrupted.ExitCode);
        var store = runner.Store;
        using (var run = store.Open(interrupted.Record.Id))
        {
            Assert.Equal(stopAt, run.LatestCheckpoint()!.Step);
            if (loseLastCheckpoint)
            {
                File.Delete(run.LatestCheckpoint()!.SidecarPath);
                Assert.Equal(20, run.LatestCheckpoint()!.Step);
            }
        }

        var resumed = runner.Resume(interrupted.Record.ShortId, new Stopper(int.MaxValue, null));
        Assert.Equal((RunStatus.Completed, 0), (resumed.Record.Status, resumed.ExitCode));
        Assert.Equal(RunStatus.Completed, store.Find(interrupted.Record.Id).Status);
        Assert.Equal(
            File.ReadAllText(Path.Combine(straight.Record.Directory, "metrics.csv")),
            File.ReadAllText(Path.Combine(resumed.Record.Directory, "metrics.csv")));
        Assert.Equal(FinalCheckpointHash(straight), FinalCheckpointHash(resumed));
        Assert.Contains("resuming from checkpoint step", File.ReadAllText(Path.Combine(resumed.Record.Directory, "log.txt")), StringComparison.Ordinal);

        var again = Assert.Throws<TelosInputException>(() => runner.Resume(interrupted.Record.Id, new Stopper(int.MaxValue, null)));
        Assert.EndsWith("is completed; nothing to resume", again.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sidecar")]
    [InlineData("tensors")]
    public void ResumeSkipsADamagedNewestCheckpointAndMatchesAResumeFromTheOneBefore(string damage)
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var damaged = Interrupt(runner, stopAt: 40);
        var clean = Interrupt(runner, stopAt: 40);
        var newest = RunFiles.Checkpoints(damaged.Directory)[^1];
        Assert.Equal([20L, 40L], RunFiles.Checkpoints(damaged.Directory).Select(c => c.Step));
        if (damage == "sidecar")
        {
            File.WriteAllText(newest.SidecarPath, File.ReadAllText(newest.SidecarPath).Replace("\"step\": 40", "\"step\": \"40\"", StringComparison.Ordinal));
        }
        else
        {
            File.WriteAllBytes(newest.TensorPath, File.ReadAllBytes(newest.TensorPath)[..100]);
        }
        // The undamaged comparison: the same run without its step-40 checkpoint resumes from step 20.
        var cleanNewest = RunFiles.Checkpoints(clean.Directory)[^1];
        File.Delete(cleanNewest.SidecarPath);
        File.Delete(cleanNewest.TensorPath);

        var plan = runner.PlanResume(damaged.Id);
        Assert.Equal(20, plan.From!.Step);
        var skipped = Assert.Single(plan.Skipped);
        Assert.Equal(newest.SidecarPath, skipped.SidecarPath);
        Assert.StartsWith(damage == "sidecar" ? newest.SidecarPath + ": unreadable checkpoint sidecar" : newest.TensorPath + ": truncated or corrupt checkpoint", skipped.Reason, StringComparison.Ordinal);

        var resumed = runner.Resume(plan, new Stopper(int.MaxValue, null));
        var reference = runner.Resume(clean.Id, new Stopper(int.MaxValue, null));
        Assert.Equal((RunStatus.Completed, 0), (resumed.Record.Status, resumed.ExitCode));
        Assert.Equal(
            File.ReadAllText(Path.Combine(reference.Record.Directory, "metrics.csv")),
            File.ReadAllText(Path.Combine(resumed.Record.Directory, "metrics.csv")));
        Assert.Equal(FinalCheckpointHash(reference), FinalCheckpointHash(resumed));
        var log = File.ReadAllText(Path.Combine(resumed.Record.Directory, "log.txt"));
        Assert.Contains($"skipping checkpoint {newest.SidecarPath}: ", log, StringComparison.Ordinal);
        Assert.Contains("resuming from checkpoint step 20\n", log, StringComparison.Ordinal);
    }

    [Fact]
    public void ResumeRefusesWhenNoCheckpointIsIntactAndChangesNothing()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var interrupted = Interrupt(runner, stopAt: 40);
        var dir = interrupted.Directory;
        var checkpoints = RunFiles.Checkpoints(dir);
        var newest = checkpoints[^1];
        var bytes = File.ReadAllBytes(newest.TensorPath);
        File.WriteAllBytes(newest.TensorPath, bytes[..100]);
        File.WriteAllText(checkpoints[0].SidecarPath, "{\"format\": ");
        var metricsBefore = File.ReadAllText(Path.Combine(dir, "metrics.csv"));
        var logBefore = File.ReadAllText(Path.Combine(dir, "log.txt"));

        var error = Assert.Throws<TelosInputException>(() => runner.Resume(interrupted.Id, new Stopper(int.MaxValue, null)));
        Assert.Equal($"run '{interrupted.Id}': no intact checkpoint to resume from (2 damaged; newest: {newest.TensorPath}: truncated or corrupt checkpoint: 100 bytes, sidecar says {bytes.Length})", error.Message);
        Assert.Equal(RunStatus.Interrupted, runner.Store.Find(interrupted.Id).Status);
        Assert.Equal(metricsBefore, File.ReadAllText(Path.Combine(dir, "metrics.csv")));
        Assert.Equal(logBefore, File.ReadAllText(Path.Combine(dir, "log.txt")));
    }

    [Fact]
    public void ResumeRefusesAnEditedConfig()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        using var cancel = new CancellationTokenSource();
        var interrupted = runner.Start(runner.Prepare(ConfigFile.Parse(Tiny, "tiny.toml"), "tiny"), new Stopper(10, cancel), cancel.Token);
        var configPath = Path.Combine(interrupted.Record.Directory, "config.toml");
        File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("steps = 60", "steps = 70", StringComparison.Ordinal));
        var error = Assert.Throws<TelosInputException>(() => runner.Resume(interrupted.Record.Id, new Stopper(int.MaxValue, null)));
        Assert.StartsWith(configPath + ": config changed since the run started", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("; differing keys: steps: 60 → 70); start a new run instead", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AThrowingExperimentMarksTheRunFailed()
    {
        using var temp = new TempFolder();
        var runner = new ExperimentRunner(new RunStore(temp.Combine("runs")), new ExperimentCatalog([new Exploding()]));
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse("experiment = \"exploding\"", "e.toml"), "e"), new Stopper(int.MaxValue, null));
        Assert.Equal(1, outcome.ExitCode);
        Assert.Equal(RunStatus.Failed, outcome.Record.Status);
        Assert.Equal("InvalidOperationException: boom", runner.Store.Find(outcome.Record.Id).Message);
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Telos.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private static RunRecord Interrupt(ExperimentRunner runner, long stopAt)
    {
        using var cancel = new CancellationTokenSource();
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(Tiny, "tiny.toml"), "tiny"), new Stopper(stopAt, cancel), cancel.Token);
        Assert.Equal(RunStatus.Interrupted, outcome.Record.Status);
        return outcome.Record;
    }

    private static ExperimentRunner Runner(TempFolder temp) => new(new RunStore(temp.Combine("runs")), ExperimentCatalog.Discover());

    private static RunOutcome Start(ExperimentRunner runner, string text, long? seed) =>
        runner.Start(runner.Prepare(ConfigFile.Parse(text, "tiny.toml"), "tiny", seed), new Stopper(int.MaxValue, null));

    private static string FinalCheckpointHash(RunOutcome outcome) =>
        Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(RunFiles.Checkpoints(outcome.Record.Directory)[^1].TensorPath)));

    /// <summary>Cancels synchronously once the job reports <c>stopAt</c> steps done (Progress&lt;T&gt; would post asynchronously).</summary>
    private sealed class Stopper(long stopAt, CancellationTokenSource? cancel) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
            if (value.Done >= stopAt)
            {
                cancel?.Cancel();
            }
        }
    }

    public sealed class Exploding : Experiment<string>
    {
        public override string Kind => "exploding";

        public override string Description => "Throws, for tests.";

        public override string Configure(ConfigTable config) => "";

        public override int Run(ExperimentContext context, string settings) => throw new InvalidOperationException("boom");
    }
}

public sealed class ExperimentCatalogTests
{
    [Fact]
    public void TwoExperimentsWithOneKindAreRejected()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ExperimentCatalog([new MlpRegression(), new MlpRegression()]));
        Assert.Contains("two experiments claim kind 'mlp-regression'", error.Message, StringComparison.Ordinal);
    }
}
