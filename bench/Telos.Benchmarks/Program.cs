using BenchmarkDotNet.Running;

// `dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*'` runs everything;
// `-- peer NAME` is the Telos side of bench/peers/run.sh NAME (see PeerMeasurements).
if (args.Length >= 1 && args[0] == "peer")
{
    return Telos.Benchmarks.PeerMeasurements.Run(args[1..]);
}
BenchmarkSwitcher.FromAssembly(typeof(Telos.Benchmarks.PeerMeasurements).Assembly).Run(args);
return 0;
