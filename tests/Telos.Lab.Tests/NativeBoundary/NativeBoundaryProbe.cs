using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Learning.Native;

namespace Telos.Lab.Tests.NativeBoundary;

/// <summary>
/// Runs a non-neural experiment through the run store (create, metrics + TensorBoard events, log, report,
/// interrupt, resume, listing), then prints what <see cref="TorchRuntime"/> reports, then initializes
/// LibTorch and prints it again (so the probe is seen to notice a load).
/// </summary>
internal static class NativeBoundaryProbe
{
    public const string Command = "native-boundary-probe";

    public static int Run(string root, TextWriter output)
    {
        var runner = new ExperimentRunner(new RunStore(root), new ExperimentCatalog([new Counting()]));
        using (var cancel = new CancellationTokenSource())
        {
            var prepared = runner.Prepare(ConfigFile.Parse("experiment = \"counting\"\nsteps = 20\n", "counting.toml"), "counting");
            var interrupted = runner.Start(prepared, new CancelAt(10, cancel), cancel.Token);
            var resumed = runner.Resume(interrupted.Record.ShortId, new CancelAt(long.MaxValue, null));
            output.WriteLine($"status {RunIndex.StatusName(interrupted.Record.Status)} {RunIndex.StatusName(resumed.Record.Status)}");
            output.WriteLine($"rows {RunFiles.ReadMetrics(resumed.Record.Directory).Count} checkpoints {RunFiles.Checkpoints(resumed.Record.Directory).Count}");
            output.WriteLine($"tb {Directory.GetFiles(Path.Combine(resumed.Record.Directory, "tb"), "events.out.tfevents.*").Length}");
        }
        output.WriteLine($"before initialized {TorchRuntime.IsInitialized} loaded {TorchRuntime.LibTorchLoaded()}");
        TorchRuntime.EnsureInitialized();
        output.WriteLine($"after initialized {TorchRuntime.IsInitialized} loaded {TorchRuntime.LibTorchLoaded()}");
        return 0;
    }

    /// <summary>Counts to <c>steps</c>, logging the count and its square; no tensors anywhere.</summary>
    public sealed class Counting : Experiment<int>
    {
        public override string Kind => "counting";

        public override string Description => "Counts; for the native-boundary test.";

        public override int Configure(ConfigTable config) => config.GetInt("steps", 10, min: 1);

        public override int Run(ExperimentContext context, int steps)
        {
            var start = context.Run.ReadMetrics().LastOrDefault()?.Step ?? 0;
            for (var step = start + 1; step <= steps; step++)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                context.Run.LogMetrics(step, new Dictionary<string, double> { ["count"] = step, ["square"] = step * step });
                context.Progress.Report(new ProgressUpdate(Kind, step, steps));
            }
            context.Run.WriteReport($"counted to {steps}\n");
            return 0;
        }
    }

    private sealed class CancelAt(long stopAt, CancellationTokenSource? cancel) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
            if (value.Done >= stopAt)
            {
                cancel?.Cancel();
            }
        }
    }
}
