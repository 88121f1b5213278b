using Telos.Learning.Native;
using Telos.Learning.Planning;
using Telos.Planning.Search;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Planning;

public sealed class NeuralLeafModelTests
{
    private const int Features = 8;
    private const int Actions = 5;

    /// <summary>F smooth functions of the integer embedding.</summary>
    private sealed class SineFeatures : IEmbeddingFeatures<int>
    {
        public int FeatureCount => Features;

        public void Write(in int embedding, Span<float> features)
        {
            for (var k = 0; k < features.Length; k++)
            {
                features[k] = MathF.Sin(0.37f * (k + 1) * (embedding % 101));
            }
        }
    }

    private static PriorValueNetwork Network()
    {
        TorchRuntime.Seed(17);
        return new PriorValueNetwork(Features, Actions, hidden: 16);
    }

    [Fact]
    public void EvaluateMatchesTheNetworkForPartialAndFullBatches()
    {
        using var network = Network();
        using var model = new NeuralLeafModel<int>(null, new SineFeatures(), network, maxBatch: 6);
        foreach (var n in new[] { 3, 6 })
        {
            var embeddings = Enumerable.Range(10, n).ToArray();
            var logits = new float[n * Actions];
            var values = new float[n];
            model.Evaluate(embeddings, logits, values);

            using var scope = NewDisposeScope();
            var x = new float[n * Features];
            for (var i = 0; i < n; i++)
            {
                new SineFeatures().Write(embeddings[i], x.AsSpan(i * Features, Features));
            }
            using var noGrad = no_grad();
            var (l, v) = network.call(tensor(x).reshape(n, Features));
            var expectedLogits = l.data<float>().ToArray();
            var expectedValues = v.data<float>().ToArray();
            for (var i = 0; i < logits.Length; i++)
            {
                Assert.Equal(expectedLogits[i], logits[i], 5);
            }
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(expectedValues[i], values[i], 5);
                Assert.InRange(values[i], -1f, 1f);
            }
        }
    }

    [Theory]
    [InlineData("puct")]
    [InlineData("gumbel")]
    public void SearchMakesOneForwardPassPerSimulationAndIsDeterministic(string planner)
    {
        const int b = 8, n = 24;
        using var network = Network();
        using var model = new NeuralLeafModel<int>(new SyntheticTreeModel(), new SineFeatures(), network, maxBatch: b);
        var embeddings = Enumerable.Range(0, b).ToArray();
        var logits = new float[b * Actions];
        var values = new float[b];
        model.Evaluate(embeddings, logits, values);
        var search = new BatchedSearch<int>(b, Actions, n, SearchBenchmark.Policy(planner));

        var before = model.ForwardPasses;
        var first = search.Run(new SearchRoot<int>(logits, values, embeddings), model, seed: 4);
        Assert.Equal(n, model.ForwardPasses - before);
        Assert.Equal(n, first.Statistics.ModelCalls);
        var visits = first.VisitCounts.ToArray();
        var rootValues = first.RootValues.ToArray();
        for (var root = 0; root < b; root++)
        {
            Assert.Equal(n, visits.AsSpan(root * Actions, Actions).ToArray().Sum());
            // The network's priors and values reached the tree: node 1 holds a network value, not the synthetic model's 0.
            Assert.NotEqual(0f, first.Tree.RawValue(root, 1));
        }

        var second = search.Run(new SearchRoot<int>(logits, values, embeddings), model, seed: 4);
        Assert.Equal(visits, second.VisitCounts.ToArray());
        Assert.Equal(rootValues, second.RootValues.ToArray());
    }

    [Fact]
    public void RejectsMismatchedWidths()
    {
        using var network = new PriorValueNetwork(Features + 1, Actions, hidden: 4);
        Assert.Throws<ArgumentException>(() => new NeuralLeafModel<int>(null, new SineFeatures(), network, maxBatch: 2));
    }
}
