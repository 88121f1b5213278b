using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Telos.Benchmarks;

/// <summary>
/// The Telos side of one bench/peers comparison. The peer script in bench/peers/NAME.py measures
/// the same workload with the same sizes in the same way and prints the same JSON shape.
/// </summary>
public interface IPeerWorkload
{
    /// <summary>The name given to bench/peers/run.sh, e.g. "mlp-adam".</summary>
    string Name { get; }

    /// <summary>Unit of <see cref="Measure"/>'s value, e.g. "ms/step" or "steps/s".</summary>
    string Unit { get; }

    /// <summary>Warms up, then returns the median over repeated timings, in <see cref="Unit"/>.</summary>
    double Measure();
}

/// <summary>Finds the workload by name and prints <c>{"value": ..., "unit": ...}</c> on one line.</summary>
public static class PeerMeasurements
{
    public static int Run(string[] args)
    {
        var workloads = typeof(PeerMeasurements).Assembly.GetTypes()
            .Where(t => typeof(IPeerWorkload).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (IPeerWorkload)Activator.CreateInstance(t)!)
            .ToDictionary(w => w.Name, StringComparer.Ordinal);
        if (args.Length != 1 || !workloads.TryGetValue(args[0], out var workload))
        {
            Console.Error.WriteLine($"error: unknown peer workload '{string.Join(' ', args)}'; known: {string.Join(", ", workloads.Keys.Order())}");
            return 2;
        }
        var value = workload.Measure();
        Console.WriteLine(JsonSerializer.Serialize(new { value, unit = workload.Unit }));
        return 0;
    }

    /// <summary>Runs <paramref name="action"/> <paramref name="warmup"/> times, then times it <paramref name="repeats"/> times; returns the median in milliseconds.</summary>
    public static double MedianMilliseconds(Action action, int warmup, int repeats)
    {
        for (var i = 0; i < warmup; i++)
        {
            action();
        }
        var times = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        return repeats % 2 == 1 ? times[repeats / 2] : 0.5 * (times[repeats / 2 - 1] + times[repeats / 2]);
    }

    internal static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
