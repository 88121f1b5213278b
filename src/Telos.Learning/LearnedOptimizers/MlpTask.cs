using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>Hidden-layer nonlinearity of <see cref="MlpTask"/>.</summary>
public enum MlpActivation
{
    /// <summary>The paper's training setting.</summary>
    Sigmoid,

    /// <summary>The paper's Fig. 5 generalization test where the LSTM optimizer fails.</summary>
    Relu,
}

/// <summary>
/// Training an MLP classifier by minibatches (paper §3.2: one hidden layer of 20 sigmoid units,
/// cross-entropy, minibatch 128). One problem = one random initialization plus its own stream of
/// minibatches; minibatch t of a problem is a pure function of (problem seed, t), so every optimizer
/// sees the same data at the same step. Parameters per problem are one flat vector:
/// for each layer, W [in, out] row-major then b [out]; initialized U(−1/√in, 1/√in) (PyTorch's nn.Linear).
/// </summary>
public sealed class MlpTask : IOptimizeeTask
{
    private readonly LabeledImages _data;
    private readonly int[] _layerSizes;

    /// <param name="data">Examples to draw minibatches from (not owned).</param>
    /// <param name="hiddenSizes">Units per hidden layer (paper: [20]; Fig. 5: [40] and [20, 20]).</param>
    /// <param name="activation">Hidden nonlinearity (paper: sigmoid; Fig. 5: ReLU).</param>
    /// <param name="batchSize">Minibatch size (paper: 128).</param>
    public MlpTask(LabeledImages data, IReadOnlyList<int> hiddenSizes, MlpActivation activation = MlpActivation.Sigmoid, int batchSize = 128)
    {
        if (hiddenSizes.Any(h => h < 1))
        {
            throw new TelosInputException($"hidden layer sizes must be ≥ 1, got [{string.Join(", ", hiddenSizes)}]");
        }
        if (batchSize < 1)
        {
            throw new TelosInputException($"batch_size must be ≥ 1, got {batchSize}");
        }
        _data = data;
        _layerSizes = [data.Pixels, .. hiddenSizes, data.Classes];
        Activation = activation;
        BatchSize = batchSize;
        HiddenSizes = hiddenSizes.ToArray();
        long n = 0;
        for (var l = 0; l + 1 < _layerSizes.Length; l++)
        {
            n += (long)_layerSizes[l] * _layerSizes[l + 1] + _layerSizes[l + 1];
        }
        Dimension = n;
    }

    /// <summary>Units per hidden layer.</summary>
    public IReadOnlyList<int> HiddenSizes { get; }

    /// <summary>Hidden nonlinearity.</summary>
    public MlpActivation Activation { get; }

    /// <summary>Minibatch size.</summary>
    public int BatchSize { get; }

    public string Name => $"mlp-{string.Join("x", HiddenSizes)}-{Activation.ToString().ToLowerInvariant()}";

    public long Dimension { get; }

    public IOptimizeeBatch Sample(int problems, ulong seed)
    {
        if (problems < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(problems), problems, "need at least one problem");
        }
        var rng = Seeds.Stream(seed, "init");
        var theta = new float[problems * Dimension];
        var offset = 0L;
        for (var p = 0; p < problems; p++)
        {
            for (var l = 0; l + 1 < _layerSizes.Length; l++)
            {
                var bound = 1.0 / Math.Sqrt(_layerSizes[l]);
                var count = (long)_layerSizes[l] * _layerSizes[l + 1] + _layerSizes[l + 1];
                for (var i = 0L; i < count; i++)
                {
                    theta[offset++] = (float)(bound * (2 * rng.NextDouble() - 1));
                }
            }
        }
        return new Batch(this, tensor(theta).reshape(problems, Dimension).DetachFromDisposeScope(), seed);
    }

    private sealed class Batch(MlpTask task, Tensor theta0, ulong seed) : IOptimizeeBatch
    {
        private readonly long[] _indices = new long[theta0.shape[0] * task.BatchSize];

        public int Problems => (int)theta0.shape[0];

        public long Dimension => theta0.shape[1];

        public Tensor InitialParameters() => theta0.clone();

        public Tensor Loss(Tensor theta, int step)
        {
            using var scope = NewDisposeScope();
            var data = task._data;
            var rng = Seeds.Stream(seed, "minibatch/" + step.ToString(System.Globalization.CultureInfo.InvariantCulture));
            for (var i = 0; i < _indices.Length; i++)
            {
                _indices[i] = rng.NextInt(data.Count);
            }
            var index = tensor(_indices);
            var b = task.BatchSize;
            var x = data.Images.index_select(0, index).view(Problems, b, data.Pixels);
            var labels = data.Labels.index_select(0, index).view(Problems, b, 1);
            var sizes = task._layerSizes;
            long offset = 0;
            for (var l = 0; l + 1 < sizes.Length; l++)
            {
                long fanIn = sizes[l], fanOut = sizes[l + 1];
                var w = theta.narrow(1, offset, fanIn * fanOut).view(Problems, fanIn, fanOut);
                offset += fanIn * fanOut;
                var bias = theta.narrow(1, offset, fanOut).unsqueeze(1);
                offset += fanOut;
                x = x.bmm(w).add(bias);
                if (l + 2 < sizes.Length)
                {
                    x = task.Activation == MlpActivation.Sigmoid ? x.sigmoid() : x.relu();
                }
            }
            var logProbabilities = x.log_softmax(2);
            var loss = logProbabilities.gather(2, labels).squeeze(2).mean([1L]).neg();
            return loss.MoveToOuterDisposeScope();
        }

        public void Dispose() => theta0.Dispose();
    }
}
