namespace Telos.Benchmarks;

/// <summary>
/// The Telos side of each bench/peers comparison: measures one named workload the same way its
/// peer script does (warm-up, then the median of repeated timings) and prints one JSON number.
/// </summary>
public static class PeerMeasurements
{
    public static int Run(string[] args)
    {
        Console.Error.WriteLine("unknown peer benchmark: " + string.Join(' ', args));
        return 2;
    }
}
