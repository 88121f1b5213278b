using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Telos.Learning.Native;
using Telos.Learning.Planning;
using Telos.Planning.Search;
using static TorchSharp.torch;

namespace Telos.Benchmarks.Search;

/// <summary>
/// The neural case at B = 256: a search of N = 64 simulations (A = 16) whose leaves are evaluated by
/// a <see cref="PriorValueNetwork"/> (F → 2×H ReLU → 16 logits + value) through
/// <see cref="NeuralLeafModel{TEmbedding}"/>, against the same number (N) of batched forward passes
/// of the same network on a [256, F] input alone. Two sizes: a tiny MLP (F = 64, H = 128) and one
/// sized for a 13×13 maze observation (F = 5·13·13 = 845, H = 256). Search / ForwardPassesOnly is the distance to
/// the physical limit (goal ≤ 1.25). LibTorch runs on one thread, as everywhere in Telos. Runs in
/// process, because the patched libLibTorchSharp.so lives next to the benchmark host, not in
/// BenchmarkDotNet's generated child project.
/// <c>dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*NeuralSearch*'</c>
/// </summary>
[Config(typeof(InProcessShortRunConfig))]
public class NeuralSearchBenchmarks
{
    private const int Batch = 256;
    private const int Simulations = 64;
    private const int Actions = 16;

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

    /// <summary>"64x128" (tiny) or "845x256" (maze-sized): F × H.</summary>
    [Params("64x128", "845x256")]
    public string Network { get; set; } = "64x128";

    private int Features => int.Parse(Network.Split('x')[0], System.Globalization.CultureInfo.InvariantCulture);

    private int Hidden => int.Parse(Network.Split('x')[1], System.Globalization.CultureInfo.InvariantCulture);

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.Seed(0);
        _network = new PriorValueNetwork(Features, Actions, Hidden, layers: 2);
        _model = new NeuralLeafModel<int>(new SyntheticTreeModel(), new TableFeatures(Features), _network, Batch);
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

    /// <summary>F ±1 features copied from a fixed pseudo-random table at an offset given by the embedding: a memcpy per row, like writing an observation.</summary>
    internal sealed class TableFeatures : IEmbeddingFeatures<int>
    {
        private const int Offsets = 512;
        private readonly float[] _table;

        public TableFeatures(int features)
        {
            FeatureCount = features;
            _table = new float[Offsets + features];
            var rng = new Telos.Randomness.Rng(3);
            for (var i = 0; i < _table.Length; i++)
            {
                _table[i] = rng.NextDouble() < 0.5 ? -1f : 1f;
            }
        }

        public int FeatureCount { get; }

        public void Write(in int embedding, Span<float> features) => _table.AsSpan((embedding * 7) & (Offsets - 1), FeatureCount).CopyTo(features);
    }
}

/// <summary>ShortRun (3 warm-ups, 3 iterations) inside the host process.</summary>
public sealed class InProcessShortRunConfig : ManualConfig
{
    public InProcessShortRunConfig()
    {
        AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance));
    }
}
