using Telos.Agents;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;

namespace Telos.Lab.Tests.Sweeps;

/// <summary>Settings of <see cref="SweepProbe"/>.</summary>
/// <param name="Scale">Scales the score and the loss.</param>
/// <param name="Levels">The rate's denominator.</param>
/// <param name="Fail">Fail with the probe's own error.</param>
/// <param name="NativeFailures">Times the probe fails as LibTorch fails (an <see cref="System.Runtime.InteropServices.ExternalException"/>) before it succeeds, counted in <paramref name="Counter"/>.</param>
/// <param name="Counter">A file outside the cell (a rerun starts from an empty cell directory) that counts the native failures so far.</param>
public sealed record SweepProbeSettings(double Scale, int Levels, bool Fail, int NativeFailures, string Counter);

/// <summary>
/// A cheap, deterministic experiment for sweep tests: its results are a pure function of its config and seed
/// (a rate out of <c>levels</c> and a number), and it fails on request: with its own error, or as LibTorch fails, a given number of times.
/// </summary>
public sealed class SweepProbe : Experiment<SweepProbeSettings>
{
    public override string Kind => "sweep-probe";

    public override string Description => "Writes results that depend only on its config and seed, for tests.";

    public override SweepProbeSettings Configure(ConfigTable config) =>
        new(config.GetDouble("scale", 1, 0, 100), config.GetInt("levels", 20, 1, 1000), config.GetBool("fail", false),
            config.GetInt("native_failures", 0, 0, 10), config.GetString("counter", ""));

    public override int Run(ExperimentContext context, SweepProbeSettings settings)
    {
        if (settings.Fail)
        {
            throw new InvalidOperationException("probe asked to fail");
        }
        if (settings.NativeFailures > 0)
        {
            var failed = File.Exists(settings.Counter) ? int.Parse(File.ReadAllText(settings.Counter), System.Globalization.CultureInfo.InvariantCulture) : 0;
            if (failed < settings.NativeFailures)
            {
                File.WriteAllText(settings.Counter, (failed + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                throw new System.Runtime.InteropServices.ExternalException("Expected false to be true, but got false. Exception raised from toDouble (probe)");
            }
        }
        var rng = context.Stream("probe");
        for (var step = 1; step <= 3; step++)
        {
            context.Run.LogMetrics(step, new Dictionary<string, double> { ["loss"] = rng.NextDouble() * settings.Scale });
        }
        var count = (int)(rng.NextDouble() * (settings.Levels + 1));
        context.Run.WriteResults(new RunResults()
            .Add("test/success", new Rate(Math.Min(count, settings.Levels), settings.Levels))
            .Add("score", settings.Scale * rng.NextDouble()));
        return 0;
    }
}
