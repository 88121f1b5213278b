using System.Globalization;
using System.Text;
using Telos.Lab.Configuration;
using Telos.Learning.Native;
using Telos.Learning.Runs;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Lab.Experiments;

/// <summary>Settings of <see cref="MlpRegression"/>.</summary>
/// <param name="Steps">Adam steps in all.</param>
/// <param name="BatchSize">Fresh samples per step.</param>
/// <param name="InputDim">Dimension of x.</param>
/// <param name="Hidden">Hidden layer widths (tanh between layers).</param>
/// <param name="LearningRate">Adam learning rate.</param>
/// <param name="TargetTerms">Sinusoids summed in the target function.</param>
/// <param name="EvalPoints">Size of the fixed held-out set.</param>
/// <param name="LogEvery">Log <c>loss</c> and <c>eval_loss</c> every this many steps (and at the last step).</param>
/// <param name="CheckpointEvery">Checkpoint every this many steps (and at the last step, and on cancellation).</param>
public sealed record MlpRegressionSettings(
    int Steps,
    int BatchSize,
    int InputDim,
    IReadOnlyList<int> Hidden,
    double LearningRate,
    int TargetTerms,
    int EvalPoints,
    int LogEvery,
    int CheckpointEvery);

/// <summary>
/// The smallest real experiment: fit an MLP with Adam to a seeded random function
/// f(x) = Σₖ aₖ sin(wₖ·x + bₖ), x ~ U[-1, 1]^d. It exists to prove the run machinery end to end:
/// metrics, checkpoints (model and Adam state), cancellation and bit-exact resume.
/// </summary>
/// <remarks>
/// Determinism: the target comes from seed stream "target", the held-out set from "eval", the batch of
/// step t from "batch/t" (so a resumed run draws the same batches without saving a generator), and the
/// initial weights from LibTorch's generator seeded with "init".
/// </remarks>
public sealed class MlpRegression : Experiment<MlpRegressionSettings>
{
    public override string Kind => "mlp-regression";

    public override string Description => "Fit a small MLP (Adam) to a seeded synthetic function; proves metrics, checkpoints and resume.";

    public override MlpRegressionSettings Configure(ConfigTable config)
    {
        var steps = config.GetInt("steps", 2000, 1, 10_000_000);
        var batch = config.GetInt("batch_size", 64, 1, 65_536);
        var inputDim = config.GetInt("input_dim", 2, 1, 64);
        var hidden = config.GetIntList("hidden", [32, 32], 1, 4096, minCount: 1, maxCount: 8);
        var learningRate = config.GetDouble("learning_rate", 0.01, 1e-7, 1.0);
        var terms = config.GetInt("target_terms", 4, 1, 64);
        var evalPoints = config.GetInt("eval_points", 256, 1, 100_000);
        var logEvery = config.GetInt("log_every", 50, 1, 10_000_000);
        var checkpointEvery = config.GetInt("checkpoint_every", 500, 1, 10_000_000);
        return new MlpRegressionSettings(steps, batch, inputDim, hidden, learningRate, terms, evalPoints, logEvery, checkpointEvery);
    }

    public override int Run(ExperimentContext context, MlpRegressionSettings s)
    {
        TorchRuntime.EnsureInitialized();
        var target = Target.Create(context.Stream("target"), s.InputDim, s.TargetTerms);
        using var eval = Sample(context.Stream("eval"), s.EvalPoints, s.InputDim, target);

        TorchRuntime.Seed(context.DeriveSeed("init"));
        using var model = BuildModel(s.InputDim, s.Hidden);
        using var optimizer = optim.Adam(model.parameters(), lr: s.LearningRate);

        var start = 0L;
        if (context.ResumeFrom is { } checkpoint)
        {
            using var loaded = context.Run.LoadCheckpoint(checkpoint);
            Restore(model, optimizer, loaded);
            start = loaded.Step;
        }

        var lastCheckpoint = start;
        var done = start;
        var lastLoss = double.NaN;
        var detail = "";
        var started = DateTimeOffset.UtcNow;
        try
        {
            for (var step = start + 1; step <= s.Steps; step++)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                using (NewDisposeScope())
                {
                    var batch = Sample(context.Stream($"batch/{step}"), s.BatchSize, s.InputDim, target);
                    optimizer.zero_grad();
                    var loss = nn.functional.mse_loss(model.forward(batch.X), batch.Y);
                    loss.backward();
                    optimizer.step();

                    if (step % s.LogEvery == 0 || step == s.Steps)
                    {
                        lastLoss = loss.item<float>();
                        double evalLoss;
                        using (no_grad())
                        {
                            evalLoss = nn.functional.mse_loss(model.forward(eval.X), eval.Y).item<float>();
                        }
                        context.Run.LogMetrics(step, new Dictionary<string, double> { ["loss"] = lastLoss, ["eval_loss"] = evalLoss });
                        detail = string.Create(CultureInfo.InvariantCulture, $"loss {lastLoss:G4}, eval {evalLoss:G4}");
                    }
                }
                if (step % s.CheckpointEvery == 0 || step == s.Steps)
                {
                    Save(context, model, optimizer, step);
                    lastCheckpoint = step;
                }
                done = step;
                context.Progress.Report(new ProgressUpdate(Kind, step, s.Steps, detail));
            }
        }
        catch (OperationCanceledException)
        {
            // Keep the finished steps: the next resume starts exactly where this one stopped.
            if (done > lastCheckpoint)
            {
                Save(context, model, optimizer, done);
            }
            throw;
        }

        context.Run.WriteReport(Report(s, context, lastLoss, DateTimeOffset.UtcNow - started));
        return 0;
    }

    /// <summary>The network: Linear → tanh → ... → Linear(·, 1). Input [B, d], output [B, 1].</summary>
    internal static Sequential BuildModel(int inputDim, IReadOnlyList<int> hidden)
    {
        var layers = new List<(string, nn.Module<Tensor, Tensor>)>();
        var width = inputDim;
        for (var i = 0; i < hidden.Count; i++)
        {
            layers.Add(($"linear{i}", nn.Linear(width, hidden[i])));
            layers.Add(($"tanh{i}", nn.Tanh()));
            width = hidden[i];
        }
        layers.Add(("out", nn.Linear(width, 1)));
        return nn.Sequential(layers);
    }

    /// <summary>Draws <paramref name="count"/> points: X [count, inputDim] uniform in [-1, 1], Y [count, 1] = f(X).</summary>
    private static Batch Sample(Randomness.Rng rng, int count, int inputDim, Target target)
    {
        var xs = new float[count * inputDim];
        var ys = new float[count];
        var point = new double[inputDim];
        for (var i = 0; i < count; i++)
        {
            for (var j = 0; j < inputDim; j++)
            {
                point[j] = 2 * rng.NextDouble() - 1;
                xs[i * inputDim + j] = (float)point[j];
            }
            ys[i] = (float)target.Evaluate(point);
        }
        return new Batch(tensor(xs, [count, inputDim]), tensor(ys, [count, 1]));
    }

    private sealed record Batch(Tensor X, Tensor Y) : IDisposable
    {
        public void Dispose()
        {
            X.Dispose();
            Y.Dispose();
        }
    }

    private static void Save(ExperimentContext context, Sequential model, Adam optimizer, long step)
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (name, parameter) in model.named_parameters())
        {
            tensors["model." + name] = parameter.detach();
        }
        var adamSteps = AdamCheckpoint.Capture(optimizer, "adam.", tensors);
        context.Run.SaveCheckpoint(step, tensors, new CheckpointMetadata(step, adamSteps));
    }

    private static void Restore(Sequential model, Adam optimizer, Runs.LoadedCheckpoint checkpoint)
    {
        using (no_grad())
        {
            foreach (var (name, parameter) in model.named_parameters())
            {
                parameter.copy_(checkpoint.Tensor("model." + name));
            }
        }
        var metadata = checkpoint.MetadataAs<CheckpointMetadata>();
        AdamCheckpoint.Restore(optimizer, "adam.", checkpoint.Tensor, metadata.AdamSteps, checkpoint.Info.SidecarPath);
    }

    private static string Report(MlpRegressionSettings s, ExperimentContext context, double finalLoss, TimeSpan elapsed)
    {
        var rows = context.Run.ReadMetrics();
        var last = rows.LastOrDefault();
        var text = new StringBuilder();
        text.Append("# mlp-regression\n\n");
        text.Append(CultureInfo.InvariantCulture, $"Fit a [{s.InputDim}, {string.Join(", ", s.Hidden)}, 1] tanh MLP with Adam (lr {s.LearningRate}) to a sum of {s.TargetTerms} sinusoids, {s.Steps} steps of batch {s.BatchSize}, seed {context.Seed}.\n\n");
        text.Append("| step | loss | eval_loss |\n|---:|---:|---:|\n");
        foreach (var row in rows.Count <= 10 ? rows : rows.Where((_, i) => i % Math.Max(1, rows.Count / 10) == 0).Append(last!).Distinct())
        {
            text.Append(CultureInfo.InvariantCulture, $"| {row.Step} | {row.Values.GetValueOrDefault("loss", double.NaN):G5} | {row.Values.GetValueOrDefault("eval_loss", double.NaN):G5} |\n");
        }
        text.Append(CultureInfo.InvariantCulture, $"\nFinal training-batch loss {finalLoss:G5}. This session ran for {elapsed.TotalSeconds:F1} s{(context.IsResume ? $" (resumed from step {context.ResumeFrom?.Step ?? 0})" : "")}.\n");
        return text.ToString();
    }

    /// <summary>What the checkpoint sidecar records besides tensors.</summary>
    internal sealed record CheckpointMetadata(long Step, IReadOnlyList<long> AdamSteps);

    /// <summary>f(x) = Σₖ aₖ sin(wₖ·x + bₖ) with wₖ ~ N(0, 2²)^d, aₖ ~ N(0, 1/K), bₖ ~ U[0, 2π).</summary>
    private sealed class Target
    {
        private readonly double[] _amplitudes;
        private readonly double[][] _frequencies;
        private readonly double[] _phases;

        private Target(double[] amplitudes, double[][] frequencies, double[] phases)
        {
            _amplitudes = amplitudes;
            _frequencies = frequencies;
            _phases = phases;
        }

        public static Target Create(Randomness.Rng rng, int inputDim, int terms)
        {
            var amplitudes = new double[terms];
            var frequencies = new double[terms][];
            var phases = new double[terms];
            for (var k = 0; k < terms; k++)
            {
                amplitudes[k] = rng.NextGaussian() / Math.Sqrt(terms);
                frequencies[k] = new double[inputDim];
                for (var j = 0; j < inputDim; j++)
                {
                    frequencies[k][j] = 2 * rng.NextGaussian();
                }
                phases[k] = 2 * Math.PI * rng.NextDouble();
            }
            return new Target(amplitudes, frequencies, phases);
        }

        public double Evaluate(ReadOnlySpan<double> x)
        {
            var sum = 0.0;
            for (var k = 0; k < _amplitudes.Length; k++)
            {
                var angle = _phases[k];
                for (var j = 0; j < x.Length; j++)
                {
                    angle += _frequencies[k][j] * x[j];
                }
                sum += _amplitudes[k] * Math.Sin(angle);
            }
            return sum;
        }
    }
}
