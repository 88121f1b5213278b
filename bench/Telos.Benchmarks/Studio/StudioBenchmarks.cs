using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Telos.Studio;

namespace Telos.Benchmarks.Studio;

/// <summary>
/// The studio's edit → re-plan round trip, server-side: one weight edit on a 13×13 <c>maze/test</c>
/// level (seed 3) with BFS, answered with the whole view the page draws (re-plan, heatmap, card,
/// diff, EPIC on each maze distribution; the batch view over 1 or 20 levels).
/// <c>dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*StudioBenchmarks*'</c> (in process, 15 iterations, median reported).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(StudioBenchmarkConfig))]
public class StudioBenchmarks
{
    private static readonly JsonElement Ten = JsonSerializer.SerializeToElement(10.0);
    private static readonly JsonElement Eleven = JsonSerializer.SerializeToElement(11.0);
    private StudioSession _session = null!;
    private bool _flip;

    [Params(1, 20)]
    public int BatchLevels { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _session = new StudioSession(new StudioSessionOptions(Path.GetTempPath()));
        _session.Select(new LevelRequest("maze/test", 3, Planner: "bfs", BatchLevels: BatchLevels));
        _session.Edit(new EditRequest("zero", "at_corner"));
    }

    /// <summary>Sets at_cheese to 10 or 11 (alternating, so every call changes the card) and returns the view's path length.</summary>
    [Benchmark]
    public int EditAndReplan()
    {
        _flip = !_flip;
        return _session.Edit(new EditRequest("set", "at_cheese", _flip ? Ten : Eleven)).Plan.Path.Count;
    }
}

/// <summary>In process (no boilerplate project to build next to LibTorch), 3 warm-ups and 15 measured iterations.</summary>
public sealed class StudioBenchmarkConfig : ManualConfig
{
    public StudioBenchmarkConfig()
    {
        AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(15));
    }
}
