using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.LearnedOptimizers;
using Telos.Lab.Runs;
using Telos.Learning.LearnedOptimizers;
using Telos.Randomness;

namespace Telos.Lab.Tests.LearnedOptimizers;

public sealed class L2LExperimentTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("telos-l2l-lab-");

    public void Dispose() => _root.Delete(recursive: true);

    /// <summary>A runner over the test's runs folder; <paramref name="trainingCode"/> stands in for the training code's identity in the reuse cache's key.</summary>
    private ExperimentRunner Runner(string? trainingCode = null)
    {
        var code = trainingCode ?? L2LTrainingCache.CodeIdentity;
        return new(new RunStore(Path.Combine(_root.FullName, "runs")), new ExperimentCatalog([new L2LQuadraticExperiment(code), new L2LMlpExperiment(code)]));
    }

    private sealed class Quiet : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
        }
    }

    private const string TinyQuadratic = """
        experiment = "l2l-quadratic"
        seed = 3
        checkpoint_every = 2
        [task]
        dimensions = 4
        [meta]
        horizon = 10
        unroll = 5
        problems_per_batch = 8
        max_problems = 4
        validate_every = 2
        validation_problems = 8
        [evaluation]
        test_problems = 10
        tuning_problems = 8
        lr_low = 0.01
        lr_high = 1.0
        lr_points_per_decade = 1
        baselines = ["sgd", "adam"]
        report_steps = [5, 10]
        """;

    [Fact]
    public void QuadraticRunWritesCurvesOfTheSavedOptimizerAndReportsTheirNumbers()
    {
        var runner = Runner();
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(TinyQuadratic, "tiny.toml"), "tiny"), new Quiet());
        Assert.Equal(0, outcome.ExitCode);
        var dir = outcome.Record.Directory;
        var png = File.ReadAllBytes(Path.Combine(dir, "loss.png"));
        Assert.True(png.Length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "loss.png is not a PNG");
        var csv = File.ReadAllLines(Path.Combine(dir, "curves.csv"));
        Assert.Equal(12, csv.Length); // header + steps 0..10
        Assert.Equal("step,LSTM_mean,LSTM_ci_low,LSTM_ci_high,SGD_mean,SGD_ci_low,SGD_ci_high,ADAM_mean,ADAM_ci_low,ADAM_ci_high", csv[0]);
        var rows = csv[1..].Select(line => line.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();
        var (lstm, sgd, adam) = (1, 4, 7); // column of each optimizer's mean; CI bounds follow
        for (var t = 0; t <= 10; t++)
        {
            Assert.Equal(t, rows[t][0]);
            foreach (var m in new[] { lstm, sgd, adam })
            {
                Assert.True(double.IsFinite(rows[t][m]) && rows[t][m + 1] <= rows[t][m] && rows[t][m] <= rows[t][m + 2], $"step {t}, column {m}: mean {rows[t][m]} outside its CI [{rows[t][m + 1]}, {rows[t][m + 2]}]");
            }
        }
        // Every optimizer starts from the same test problems, and tuned SGD and Adam lower the loss.
        Assert.Equal(rows[0][lstm], rows[0][sgd]);
        Assert.Equal(rows[0][lstm], rows[0][adam]);
        Assert.True(rows[10][sgd] < rows[0][sgd] && rows[10][adam] < rows[0][adam], $"step 0 → 10: SGD {rows[0][sgd]} → {rows[10][sgd]}, Adam {rows[0][adam]} → {rows[10][adam]}");

        // The LSTM curve is the saved optimizer's, on the run's test problems.
        using (var saved = LearnedOptimizer.Load(Path.Combine(dir, "optimizer.l2l")))
        using (var test = new QuadraticTask(Dimensions: 4).Sample(10, Seeds.Derive(3, "l2l/test")))
        using (var rule = new LstmRule(saved.Network, "LSTM"))
        {
            var replay = OptimizeeRunner.Run(test, rule, 10);
            for (var t = 0; t <= 10; t++)
            {
                Assert.Equal(replay.MeanWithCi(t).Mean, rows[t][lstm], 12);
            }
        }

        // The report's table and paired differences carry the curves' numbers at the report steps.
        var report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("| optimizer | step 5: mean [95% CI] | step 10: mean [95% CI] |", report);
        string Ci(int t, int m) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{rows[t][m]:G4} [{rows[t][m + 1]:G4}, {rows[t][m + 2]:G4}]");
        Assert.Contains($"| LSTM | {Ci(5, lstm)} | {Ci(10, lstm)} |", report);
        Assert.Contains(report.Split('\n'), line => line.StartsWith("| SGD (lr ", StringComparison.Ordinal) && line.EndsWith($" | {Ci(5, sgd)} | {Ci(10, sgd)} |", StringComparison.Ordinal));
        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")));
        var pairedSgd = summary.RootElement.GetProperty("lstm_minus_baseline")[0];
        Assert.StartsWith("SGD", pairedSgd.GetProperty("Baseline").GetString());
        var atTen = pairedSgd.GetProperty("AtSteps").EnumerateArray().Single(a => a.GetProperty("Step").GetInt32() == 10);
        Assert.Equal(rows[10][lstm] - rows[10][sgd], atTen.GetProperty("Mean").GetDouble(), 6);

        using var run = runner.Store.Open(outcome.Record.Id);
        Assert.Equal([4L, 8L], run.Checkpoints().Select(c => c.Step)); // 2 meta-steps per problem batch, a checkpoint every 2 batches
        var validation = run.ReadMetrics().Where(r => r.Values.ContainsKey("meta/validation_mean_loss")).Select(r => r.Values["meta/validation_mean_loss"]).ToArray();
        Assert.Equal(2, validation.Length); // validate_every = 2 of 4 problem batches
        Assert.All(validation, v => Assert.True(double.IsFinite(v) && v > 0, $"validation mean loss {v}"));
    }

    [Fact]
    public void TheReuseCacheServesOnlyAnOptimizerTrainedByTheSameCode()
    {
        var config = TinyQuadratic.Replace("checkpoint_every = 2", "checkpoint_every = 2\nreuse_trained = true", StringComparison.Ordinal);
        (bool Reused, int Checkpoints, byte[] Optimizer) Start(string code, string name)
        {
            var runner = Runner(code);
            var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(config, "reuse.toml"), name), new Quiet());
            Assert.Equal(0, outcome.ExitCode);
            using var run = runner.Store.Open(outcome.Record.Id);
            return (File.ReadAllText(Path.Combine(outcome.Record.Directory, "log.txt")).Contains("reusing the optimizer", StringComparison.Ordinal),
                run.Checkpoints().Count, File.ReadAllBytes(Path.Combine(outcome.Record.Directory, "optimizer.l2l")));
        }

        var first = Start("code A", "first");
        Assert.False(first.Reused);
        var again = Start("code A", "again");
        Assert.True(again.Reused, "same settings, seed and code: the cached optimizer is reused");
        Assert.Equal(0, again.Checkpoints);
        Assert.Equal(first.Optimizer, again.Optimizer);
        var otherCode = Start("code B", "other-code");
        Assert.False(otherCode.Reused, "other training code: the cache entry of code A is not served");
        Assert.True(otherCode.Checkpoints > 0, "other training code meta-trains");

        // The real identity names the module version id of every assembly whose code trains the optimizer.
        foreach (var assembly in new[] { typeof(Seeds).Assembly, typeof(MetaTrainer).Assembly, typeof(L2LTrainingCache).Assembly, typeof(TorchSharp.torch).Assembly })
        {
            Assert.Contains(assembly.ManifestModule.ModuleVersionId.ToString("N"), L2LTrainingCache.CodeIdentity);
        }
    }

    [Fact]
    public void ResumedQuadraticRunEndsWithTheSameOptimizer()
    {
        var runner = Runner();
        var whole = runner.Start(runner.Prepare(ConfigFile.Parse(TinyQuadratic, "tiny.toml"), "whole"), new Quiet());
        // Interrupt the second run after its first checkpoint by cancelling from progress reports.
        using var cancel = new CancellationTokenSource();
        var progress = new CancelAfter(cancel, metaSteps: 5);
        var partial = runner.Start(runner.Prepare(ConfigFile.Parse(TinyQuadratic, "tiny.toml"), "partial"), progress, cancel.Token);
        Assert.Equal(1, partial.ExitCode);
        var resumed = runner.Resume(partial.Record.Id, new Quiet());
        Assert.Equal(0, resumed.ExitCode);
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(whole.Record.Directory, "optimizer.l2l")),
            File.ReadAllBytes(Path.Combine(resumed.Record.Directory, "optimizer.l2l")));
        Assert.Equal(
            File.ReadAllText(Path.Combine(whole.Record.Directory, "curves.csv")),
            File.ReadAllText(Path.Combine(resumed.Record.Directory, "curves.csv")));
    }

    private sealed class CancelAfter(CancellationTokenSource source, long metaSteps) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
            if (value.Task == "meta-train" && value.Done >= metaSteps)
            {
                source.Cancel();
            }
        }
    }

    [Fact]
    public void UnknownOptimizerSettingNamesFileAndLine()
    {
        var runner = Runner();
        var e = Assert.Throws<TelosInputException>(() => runner.Prepare(ConfigFile.Parse(TinyQuadratic + "\n[optimizer]\nhiden_size = 3\n", "tiny.toml"), "bad"));
        Assert.Contains("tiny.toml:", e.Message);
        Assert.Contains("hiden_size", e.Message);
        var p = Assert.Throws<TelosInputException>(() => runner.Prepare(ConfigFile.Parse(TinyQuadratic.Replace("unroll = 5", "unroll = 50"), "tiny.toml"), "bad"));
        Assert.Contains("unroll", p.Message);
    }

    [Fact]
    public void MlpGeneralizationRunReusesTheMetaTrainedOptimizer()
    {
        var data = Path.Combine(_root.FullName, "idx");
        Directory.CreateDirectory(data);
        var rng = new Telos.Randomness.Rng(5);
        foreach (var (prefix, count) in new[] { ("train", 200), ("t10k", 100) })
        {
            var pixels = new byte[count * 16];
            var labels = new byte[count];
            for (var i = 0; i < count; i++)
            {
                labels[i] = (byte)rng.NextInt(10);
                for (var p = 0; p < 16; p++)
                {
                    pixels[i * 16 + p] = (byte)(p == labels[i] ? 255 : rng.NextInt(80));
                }
            }
            IdxImages.WriteImages(Path.Combine(data, $"{prefix}-images-idx3-ubyte"), pixels, count, 4, 4);
            IdxImages.WriteLabels(Path.Combine(data, $"{prefix}-labels-idx1-ubyte"), labels);
        }
        string Config(string evaluation) => $"""
            experiment = "l2l-mlp"
            seed = 2
            [task]
            data = "mnist"
            data_path = "{data}"
            hidden = [6]
            batch_size = 8
            [meta]
            horizon = 10
            unroll = 5
            max_problems = 2
            validate_every = 1
            validation_problems = 2
            [evaluation]
            test_problems = 4
            tuning_problems = 2
            lr_low = 0.1
            lr_high = 1.0
            lr_points_per_decade = 1
            baselines = ["adam"]
            {evaluation}
            """;
        var runner = Runner();
        var basic = runner.Start(runner.Prepare(ConfigFile.Parse(Config("steps = 10"), "mlp.toml"), "mlp"), new Quiet());
        Assert.Equal(0, basic.ExitCode);
        var relu = runner.Start(runner.Prepare(ConfigFile.Parse(Config("steps = 12\nhidden = [5, 5]\nactivation = \"relu\""), "relu.toml"), "relu"), new Quiet());
        Assert.Equal(0, relu.ExitCode);
        Assert.Contains("reusing the optimizer", File.ReadAllText(Path.Combine(relu.Record.Directory, "log.txt")));
        using (var reluRun = runner.Store.Open(relu.Record.Id))
        {
            Assert.Empty(reluRun.Checkpoints()); // nothing meta-trained
        }
        Assert.Contains("mlp-5x5-relu", File.ReadAllText(Path.Combine(relu.Record.Directory, "summary.json")));
        Assert.Equal(
            File.ReadAllBytes(Path.Combine(basic.Record.Directory, "optimizer.l2l")),
            File.ReadAllBytes(Path.Combine(relu.Record.Directory, "optimizer.l2l")));
    }

    [Fact]
    public void ShippedConfigsValidate()
    {
        var folder = FindRepoFile("experiments");
        var runner = Runner();
        foreach (var file in Directory.GetFiles(folder, "l2l-*.toml"))
        {
            if (File.ReadAllText(file).Contains("trained_optimizer = ", StringComparison.Ordinal))
            {
                // Evaluation-only configs name a saved optimizer that a test checkout does not have.
                var missing = Assert.Throws<TelosInputException>(() => runner.Prepare(file));
                Assert.Contains("trained_optimizer", missing.Message);
                continue;
            }
            var prepared = runner.Prepare(file);
            Assert.StartsWith("l2l-", prepared.Experiment.Kind);
        }
    }

    private static string FindRepoFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, name);
            if (Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "Telos.slnx")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException(name);
    }
}
