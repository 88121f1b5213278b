using BenchmarkDotNet.Attributes;
using Telos.Planning.Search;

namespace Telos.Benchmarks.Search;

/// <summary>
/// Tree overhead per simulation: one batched search of B = 256 roots × N = 64 simulations, A = 16,
/// with the trivial <see cref="SyntheticTreeModel"/> (a few ns per row), so the time is the tree's.
/// Reported per simulation (OperationsPerInvoke = B·N); allocation should be 0 B.
/// <c>dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*SearchTree*'</c>
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class SearchTreeBenchmarks
{
    private const int Batch = 256;
    private const int Simulations = 64;
    private const int Actions = 16;
    private BatchedSearch<int> _search = null!;
    private readonly float[] _logits = new float[Batch * Actions];
    private readonly float[] _values = new float[Batch];
    private readonly int[] _embeddings = Enumerable.Range(0, Batch).ToArray();
    private readonly SyntheticTreeModel _model = new();
    private ulong _seed;

    [Params("uct", "puct", "gumbel")]
    public string Planner { get; set; } = "puct";

    [GlobalSetup]
    public void Setup() => _search = new BatchedSearch<int>(Batch, Actions, Simulations, SearchBenchmark.Policy(Planner));

    [Benchmark(OperationsPerInvoke = Batch * Simulations)]
    public int Search() => _search.Run(new SearchRoot<int>(_logits, _values, _embeddings), _model, _seed++).Actions[0];
}
