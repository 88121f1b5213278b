using BenchmarkDotNet.Attributes;
using Telos.Learning.Native;
using Telos.Learning.Planning;
using Telos.Planning.Search;
using static TorchSharp.torch;

namespace Telos.Benchmarks.Search;

/// <summary>
/// The neural case at B = 256: a search of N = 64 simulations (A = 16) whose leaves are evaluated by
/// a <see cref="PriorValueNetwork"/> (F = 64 → 2×128 ReLU → 16 logits + value) through
/// <see cref="NeuralLeafModel{TEmbedding}"/>, against the same number (N) of batched forward passes
/// of the same network on a [256, 64] input alone. Search / ForwardPassesOnly is the distance to
/// the physical limit (goal ≤ 1.25). LibTorch runs on one thread, as everywhere in Telos.
/// <c>dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*NeuralSearch*'</c>
/// </summary>
[ShortRunJob]
public class NeuralSearchBenchmarks
{
    private const int Batch = 256;
    private const int Simulations = 64;
    private const int Actions = 16;
    private const int Features = 64;
    private const int Hidden = 128;

    private PriorValueNetwork _network = null!;
    private NeuralLeafModel<int> _model = null!;
    private BatchedSearch<int> _search = null!;
    private Tensor _input = null!;
    private readonly float[] _logits = new float[Batch * Actions];
    private readonly float[] _values = new float[Batch];
    private readonly int[] _embeddings = Enumerable.Range(0, Batch).ToArray();
    private ulong _seed;

    [Params("puct", "gumbel")]
    public string Planner { get; set; } = "gumbel";

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.Seed(0);
        _network = new PriorValueNetwork(Features, Actions, Hidden, layers: 2);
        _model = new NeuralLeafModel<int>(new SyntheticTreeModel(), new HashFeatures(), _network, Batch);
        _model.Evaluate(_embeddings, _logits, _values);
        _search = new BatchedSearch<int>(Batch, Actions, Simulations, SearchBenchmark.Policy(Planner));
        _input = randn(Batch, Features);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _model.Dispose();
        _network.Dispose();
        _input.Dispose();
    }

    [Benchmark]
    public int Search() => _search.Run(new SearchRoot<int>(_logits, _values, _embeddings), _model, _seed++).Actions[0];

    [Benchmark(Baseline = true)]
    public void ForwardPassesOnly()
    {
        for (var i = 0; i < Simulations; i++)
        {
            using (NewDisposeScope())
            using (no_grad())
            {
                _network.call(_input);
            }
        }
    }

    /// <summary>F = 64 ±1 features from the bits of a hash of the embedding: cheap, like writing an observation.</summary>
    internal sealed class HashFeatures : IEmbeddingFeatures<int>
    {
        public int FeatureCount => Features;

        public void Write(in int embedding, Span<float> features)
        {
            var h = (ulong)embedding * 0x9E3779B97F4A7C15UL;
            h ^= h >> 29;
            for (var k = 0; k < features.Length; k++)
            {
                features[k] = ((h >> k) & 1) == 1 ? 1f : -1f;
            }
        }
    }
}
