using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.LearnedOptimizers;
using Telos.Lab.Runs;
using Telos.Learning.LearnedOptimizers;

namespace Telos.Lab.Tests.LearnedOptimizers;

public sealed class L2LExperimentTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("telos-l2l-lab-");

    public void Dispose() => _root.Delete(recursive: true);

    private ExperimentRunner Runner() =>
        new(new RunStore(Path.Combine(_root.FullName, "runs")), new ExperimentCatalog([new L2LQuadraticExperiment(), new L2LMlpExperiment()]));

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
    public void QuadraticRunWritesCurvesPlotReportAndCheckpoints()
    {
        var runner = Runner();
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(TinyQuadratic, "tiny.toml"), "tiny"), new Quiet());
        Assert.Equal(0, outcome.ExitCode);
        var dir = outcome.Record.Directory;
        var png = File.ReadAllBytes(Path.Combine(dir, "loss.png"));
        Assert.True(png.Length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "loss.png is not a PNG");
        var csv = File.ReadAllLines(Path.Combine(dir, "curves.csv"));
        Assert.Equal(12, csv.Length); // header + steps 0..10
        Assert.StartsWith("step,LSTM_mean,LSTM_ci_low,LSTM_ci_high,SGD_mean", csv[0]);
        var report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("| LSTM |", report);
        Assert.Contains("step 10: mean [95% CI]", report);
        Assert.True(File.Exists(Path.Combine(dir, "optimizer.l2l")));
        using var run = runner.Store.Open(outcome.Record.Id);
        Assert.Equal([4L, 8L], run.Checkpoints().Select(c => c.Step)); // 2 meta-steps per problem batch, a checkpoint every 2 batches
        Assert.Contains(run.ReadMetrics(), r => r.Values.ContainsKey("meta/validation_mean_loss"));
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
