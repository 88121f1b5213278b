using Telos.Agents;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;

namespace Telos.Lab.Tests.Sweeps;

/// <summary>Settings of <see cref="SweepProbe"/>.</summary>
public sealed record SweepProbeSettings(double Scale, int Levels, bool Fail);

/// <summary>
/// A cheap, deterministic experiment for sweep tests: its results are a pure function of its config and seed
/// (a rate out of <c>levels</c> and a number), and it fails on request.
/// </summary>
public sealed class SweepProbe : Experiment<SweepProbeSettings>
{
    public override string Kind => "sweep-probe";

    public override string Description => "Writes results that depend only on its config and seed, for tests.";

    public override SweepProbeSettings Configure(ConfigTable config) =>
        new(config.GetDouble("scale", 1, 0, 100), config.GetInt("levels", 20, 1, 1000), config.GetBool("fail", false));

    public override int Run(ExperimentContext context, SweepProbeSettings settings)
    {
        if (settings.Fail)
        {
            throw new InvalidOperationException("probe asked to fail");
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
