using BenchmarkDotNet.Attributes;
using Telos.Benchmarks.Search;
using Telos.Learning.Native;
using static TorchSharp.torch;

namespace Telos.Benchmarks.LearnedOptimizers;

/// <summary>
/// Why <c>CoordinatewiseLstm.Step</c> is hidden-major: the gradient of a bias broadcast over the N = 1280
/// coordinates of the L2L meta-step is a reduction over N. Coordinate-major (<c>[N, 4H]</c> activations)
/// that is a column sum over dim 0; hidden-major (<c>[4H, N]</c>) a row sum over dim 1. Both beside the
/// gate product itself (<c>[N, in + H] · [in + H, 4H]</c>), 100 calls each, one LibTorch thread.
/// <c>dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*LstmLayout*'</c>
/// </summary>
[Config(typeof(InProcessShortRunConfig))]
public class LstmLayoutBenchmarks
{
    private const int Calls = 100;
    private Tensor _coordinateMajor = null!; // [1280, 80]
    private Tensor _hiddenMajor = null!;     // [80, 1280]
    private Tensor _inputs = null!;          // [1280, 22]
    private Tensor _weights = null!;         // [22, 80]

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        TorchRuntime.Seed(0);
        _coordinateMajor = randn(1280, 80);
        _hiddenMajor = randn(80, 1280);
        _inputs = randn(1280, 22);
        _weights = randn(22, 80);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _coordinateMajor.Dispose();
        _hiddenMajor.Dispose();
        _inputs.Dispose();
        _weights.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void GateProduct() => Repeat(() => _inputs.mm(_weights));

    [Benchmark]
    public void ColumnSumCoordinateMajor() => Repeat(() => _coordinateMajor.sum(0));

    [Benchmark]
    public void RowSumHiddenMajor() => Repeat(() => _hiddenMajor.sum(1));

    private static void Repeat(Func<Tensor> op)
    {
        using var scope = NewDisposeScope();
        for (var i = 0; i < Calls; i++)
        {
            op();
        }
    }
}
