using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Lab.Tests.Experiments;

namespace Telos.Lab.Tests.Reinforcement;

[Collection("torch")]
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

    /// <summary><c>encoder_kernel</c> chooses how the policy's encoder runs; absent, LibTorch's layers.</summary>
    [Theory]
    [InlineData("", Telos.Learning.Reinforcement.Policies.EncoderKernel.LibTorch)]
    [InlineData("encoder_kernel = \"fused\"", Telos.Learning.Reinforcement.Policies.EncoderKernel.Fused)]
    [InlineData("encoder_kernel = \"libtorch\"", Telos.Learning.Reinforcement.Policies.EncoderKernel.LibTorch)]
    public void TheEncoderKernelIsAConfigKey(string line, Telos.Learning.Reinforcement.Policies.EncoderKernel expected)
    {
        using var temp = new TempFolder();
        var prepared = Runner(temp).Prepare(ConfigFile.Parse(Tiny.Replace("seed = 3", "seed = 3\n" + line, StringComparison.Ordinal), "tiny.toml"), "tiny");
        Assert.Equal(expected, Assert.IsType<PpoExperimentSettings>(prepared.Settings).Ppo.EncoderKernel);
    }

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

    /// <summary><c>lstm_kernel</c> chooses the LSTM kernel training uses; absent, it is LibTorch's.</summary>
    [Theory]
    [InlineData("", Telos.Learning.Reinforcement.Policies.LstmKernel.LibTorch)]
    [InlineData("lstm_kernel = \"fused\"", Telos.Learning.Reinforcement.Policies.LstmKernel.Fused)]
    [InlineData("lstm_kernel = \"libtorch\"", Telos.Learning.Reinforcement.Policies.LstmKernel.LibTorch)]
    public void TheLstmKernelIsAConfigKey(string line, Telos.Learning.Reinforcement.Policies.LstmKernel expected)
    {
        using var temp = new TempFolder();
        var prepared = Runner(temp).Prepare(ConfigFile.Parse(Tiny.Replace("seed = 3", "seed = 3\n" + line, StringComparison.Ordinal), "tiny.toml"), "tiny");
        Assert.Equal(expected, Assert.IsType<PpoExperimentSettings>(prepared.Settings).Ppo.LstmKernel);
    }

    /// <summary><c>update_kernel</c> chooses how the update computes the loss and steps Adam; absent, LibTorch's ops.</summary>
    [Theory]
    [InlineData("", Telos.Learning.Reinforcement.UpdateKernel.LibTorch)]
    [InlineData("update_kernel = \"fused\"", Telos.Learning.Reinforcement.UpdateKernel.Fused)]
    [InlineData("update_kernel = \"libtorch\"", Telos.Learning.Reinforcement.UpdateKernel.LibTorch)]
    public void TheUpdateKernelIsAConfigKey(string line, Telos.Learning.Reinforcement.UpdateKernel expected)
    {
        using var temp = new TempFolder();
        var prepared = Runner(temp).Prepare(ConfigFile.Parse(Tiny.Replace("seed = 3", "seed = 3\n" + line, StringComparison.Ordinal), "tiny.toml"), "tiny");
        Assert.Equal(expected, Assert.IsType<PpoExperimentSettings>(prepared.Settings).Ppo.UpdateKernel);
    }

    [Fact]
    public void TheShippedKeysAndChestsConfigValidates()
    {
        using var temp = new TempFolder();
        var prepared = Runner(temp).Prepare(Path.Combine(ExperimentRunnerTests.RepoRoot(), "experiments", "ppo-kc.toml"));
        var settings = Assert.IsType<PpoExperimentSettings>(prepared.Settings);
        Assert.Equal(("kc/train", "kc/test"), (settings.Env, settings.EvalEnv));
        Assert.Equal(Telos.Learning.Reinforcement.Policies.PolicyKind.Lstm, settings.Policy.Kind);
        Assert.Equal((7, 100), (settings.Parameters["size"], settings.Parameters["step_limit"]));
        Assert.Equal(150, settings.Ppo.NumIterations);
    }

    /// <summary>A keys &amp; chests run reports the family's episode counts per distribution, in report.md and as results (rates with their counts).</summary>
    [Fact]
    public void AKeysAndChestsRunReportsItsEpisodeCounts()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var config = Tiny.Replace("experiment = \"ppo\"", "experiment = \"ppo\"\nenv = \"kc/train\"", StringComparison.Ordinal);
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(config, "tiny.toml"), "tiny"), new Progress<ProgressUpdate>());

        Assert.Equal(0, outcome.ExitCode);
        var results = RunResults.Read(Path.Combine(outcome.Record.Directory, RunResults.FileName)).Items.ToDictionary(r => r.Name);
        foreach (var distribution in new[] { "kc/train", "kc/test" })
        {
            var opened = results[distribution + "/chests_opened/mean"].Value;
            Assert.Equal(results[distribution + "/mean_return"].Value, opened, 9); // a chest is worth 1
            Assert.Equal(20, results[distribution + "/keys_beyond_chests/positive"].Rate!.Value.Of);
        }
        Assert.Equal(0, results["kc/train/keys_beyond_chests/positive"].Rate!.Value.Count); // chests outnumber keys
        var report = File.ReadAllLines(Path.Combine(outcome.Record.Directory, "report.md"));
        // The untrained greedy policy walks onto a key in some rooms and not in others.
        var taken = results["kc/test/keys_taken/positive"].Rate!.Value;
        Assert.InRange(taken.Count, 1, 19);
        Assert.Single(report, line => line.StartsWith($"| kc/test | keys_taken | ", StringComparison.Ordinal) && line.Contains($"({taken}; 95 % CI", StringComparison.Ordinal));
        Assert.Single(report, line => line.StartsWith($"| kc/test | keys_beyond_chests | ", StringComparison.Ordinal));
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
        // A run directory names its newest checkpoint, as that checkpoint's own file does; a missing path is one line.
        var newest = PolicyCheckpoints.FindAt(outcome.Record.Directory);
        Assert.Equal(96L, newest.Step);
        Assert.Equal(newest.TensorPath, PolicyCheckpoints.FindAt(newest.TensorPath).TensorPath);
        var missing = temp.Combine("nowhere");
        Assert.Equal($"{missing}: no such checkpoint file or run directory", Assert.Throws<TelosInputException>(() => PolicyCheckpoints.FindAt(missing)).Message);
        // TensorBoard gets CleanRL's tags (charts/SPS, losses/*; the episodic ones once an episode ends).
        var events = File.ReadAllBytes(Assert.Single(Directory.GetFiles(Path.Combine(outcome.Record.Directory, "tb"), "events.out.tfevents.*")));
        foreach (var tag in new[] { "charts/SPS", "charts/learning_rate", "charts/episodic_return", "charts/episodic_length", "losses/value_loss", "losses/policy_loss",
            "losses/entropy", "losses/old_approx_kl", "losses/approx_kl", "losses/clipfrac", "losses/explained_variance" })
        {
            Assert.True(events.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(tag)) >= 0, $"no '{tag}' tag in the TensorBoard events");
        }
        var report = File.ReadAllLines(Path.Combine(outcome.Record.Directory, "report.md"));
        Assert.Single(report, line => line.StartsWith("| maze/train | ", StringComparison.Ordinal) && line.Contains("/20 (", StringComparison.Ordinal));
        Assert.Single(report, line => line.StartsWith("| maze/test | ", StringComparison.Ordinal) && line.Contains("/20 (", StringComparison.Ordinal));
    }

    /// <summary>Trained on its evaluation distribution (env = eval_env = maze/test), the policy is evaluated there once: one row, one set of results.</summary>
    [Fact]
    public void ARunTrainedOnItsEvaluationDistributionReportsItOnce()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var config = Tiny.Replace("eval_episodes = 20", "eval_episodes = 20\nenv = \"maze/test\"", StringComparison.Ordinal);
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(config, "tiny.toml"), "tiny"), new Progress<ProgressUpdate>());

        Assert.Equal(0, outcome.ExitCode);
        var report = File.ReadAllLines(Path.Combine(outcome.Record.Directory, "report.md"));
        Assert.Single(report, line => line.StartsWith("| maze/test | ", StringComparison.Ordinal));
        Assert.DoesNotContain(report, line => line.StartsWith("| maze/train | ", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(outcome.Record.Directory, "results.json")));
    }

    [Theory]
    [InlineData("num_minibatches = 3", "tiny.toml:10: key 'num_minibatches': 3 must divide num_envs 4")]
    [InlineData("total_timesteps = 31", "tiny.toml:9: key 'total_timesteps': 31 is less than one rollout")]
    [InlineData("policy = \"gru\"", "tiny.toml:13: key 'policy': expected one of")]
    [InlineData("lstm_kernel = \"cuda\"", "tiny.toml:13: key 'lstm_kernel': expected one of")]
    [InlineData("update_kernel = \"simd\"", "tiny.toml:13: key 'update_kernel': expected one of")]
    [InlineData("encoder_kernel = \"onednn\"", "tiny.toml:13: key 'encoder_kernel': expected one of")]
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

    /// <summary>
    /// A value head made infinite after iteration 3 makes iteration 4's loss NaN: the run fails naming that
    /// update, saves nothing more, and keeps iteration 2's checkpoint intact, equal to the straight run's.
    /// </summary>
    [Fact]
    public void ANaNLossFailsTheRunNamingTheUpdateAndKeepsTheLastGoodCheckpoint()
    {
        using var temp = new TempFolder();
        var straightRunner = Runner(temp);
        var straight = straightRunner.Start(straightRunner.Prepare(ConfigFile.Parse(SixIterations, "six.toml"), "six"), new Progress<ProgressUpdate>());
        var poisoned = new PpoExperiment
        {
            AfterIteration = (policy, iteration) =>
            {
                if (iteration == 3)
                {
                    // A tensor, not an infinite Scalar: TorchSharp's temporary Scalars can be freed under a parallel test's native call.
                    using var noGrad = TorchSharp.torch.no_grad();
                    using var infinite = TorchSharp.torch.tensor(new[] { float.PositiveInfinity });
                    policy.named_parameters().Single(p => p.name == "critic.bias").parameter.copy_(infinite);
                }
            },
        };
        var runner = new ExperimentRunner(new RunStore(temp.Combine("runs")), new ExperimentCatalog([poisoned]));

        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(SixIterations, "six.toml"), "six"), new Progress<ProgressUpdate>());

        Assert.Equal(1, outcome.ExitCode);
        Assert.Equal(RunStatus.Failed, outcome.Record.Status);
        Assert.Equal("PpoDivergedException: loss is NaN at iteration 4, epoch 1, minibatch 1; training stopped before that update", outcome.Record.Message);
        var checkpoints = RunFiles.Checkpoints(outcome.Record.Directory);
        Assert.Equal([64L], checkpoints.Select(c => c.Step));
        Assert.Equal(File.ReadAllBytes(RunFiles.Checkpoints(straight.Record.Directory)[0].TensorPath), File.ReadAllBytes(checkpoints[0].TensorPath));
        Assert.Equal([32L, 64L, 96L], MetricsCsv.ReadFile(Path.Combine(outcome.Record.Directory, "metrics.csv")).Rows.Select(r => r.Step));
        Assert.False(File.Exists(Path.Combine(outcome.Record.Directory, "report.md")));
    }

    /// <summary>An edited config.toml is refused at resume, naming each key that changed; nothing is written.</summary>
    [Fact]
    public void ResumeWithAnotherConfigIsRefusedListingTheKeys()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        using var cancel = new CancellationTokenSource();
        var interrupted = runner.Start(runner.Prepare(ConfigFile.Parse(SixIterations, "six.toml"), "six"), new CancelAt(64, cancel), cancel.Token);
        var configPath = Path.Combine(interrupted.Record.Directory, "config.toml");
        File.WriteAllText(configPath, File.ReadAllText(configPath)
            .Replace("policy = \"lstm\"", "policy = \"cnn\"", StringComparison.Ordinal)
            .Replace("learning_rate = 0.00025", "learning_rate = 0.001", StringComparison.Ordinal));
        var before = Snapshot(interrupted.Record.Directory);

        var error = Assert.Throws<TelosInputException>(() => runner.Resume(interrupted.Record.ShortId, new Progress<ProgressUpdate>()));

        Assert.EndsWith("; differing keys: policy: \"lstm\" → \"cnn\"; learning_rate: 0.00025 → 0.001); start a new run instead", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(interrupted.Record.Directory));
    }

    /// <summary>A checkpoint whose sidecar names another policy than the run's config is refused before the resume writes anything.</summary>
    [Fact]
    public void ResumeFromACheckpointOfAnotherPolicyKindIsRefused()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        using var cancel = new CancellationTokenSource();
        var interrupted = runner.Start(runner.Prepare(ConfigFile.Parse(SixIterations, "six.toml"), "six"), new CancelAt(64, cancel), cancel.Token);
        var sidecar = RunFiles.Checkpoints(interrupted.Record.Directory)[^1].SidecarPath;
        File.WriteAllText(sidecar, File.ReadAllText(sidecar).Replace("\"kind\": \"lstm\"", "\"kind\": \"cnn\"", StringComparison.Ordinal));
        var before = Snapshot(interrupted.Record.Directory);

        var error = Assert.Throws<TelosInputException>(() => runner.Resume(interrupted.Record.ShortId, new Progress<ProgressUpdate>()));

        Assert.Equal($"{sidecar}: checkpoint holds a cnn (conv_channels 4, features 16, lstm_size 8, drc_layers 3, drc_ticks 3, drc_channels 32) policy; expected a lstm (conv_channels 4, features 16, lstm_size 8, drc_layers 3, drc_ticks 3, drc_channels 32) one", error.Message);
        Assert.Equal(before, Snapshot(interrupted.Record.Directory));
        Assert.Equal(RunStatus.Interrupted, runner.Store.Find(interrupted.Record.Id).Status);
    }

    private static Dictionary<string, string> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

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
