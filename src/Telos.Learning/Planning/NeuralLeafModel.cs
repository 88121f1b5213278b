using Telos.Learning.Native;
using Telos.Planning.Search;
using static TorchSharp.torch;

namespace Telos.Learning.Planning;

/// <summary>Writes the network input of an embedding: <see cref="FeatureCount"/> floats.</summary>
public interface IEmbeddingFeatures<TEmbedding>
    where TEmbedding : struct
{
    /// <summary>F, the input width of the network.</summary>
    int FeatureCount { get; }

    /// <summary>Writes F features of <paramref name="embedding"/> into <paramref name="features"/>.</summary>
    void Write(in TEmbedding embedding, Span<float> features);
}

/// <summary>
/// A small MLP with a prior head and a value head, AlphaZero-style: input <c>[B, F]</c> → ReLU trunk
/// of <c>layers</c> hidden layers of width H → prior logits <c>[B, A]</c> and value <c>[B]</c> (tanh
/// when <c>boundedValue</c>, for values in [−1, 1]).
/// </summary>
public sealed class PriorValueNetwork : nn.Module<Tensor, (Tensor Logits, Tensor Value)>
{
    private readonly nn.Module<Tensor, Tensor> _trunk;
    private readonly nn.Module<Tensor, Tensor> _policy;
    private readonly nn.Module<Tensor, Tensor> _value;
    private readonly bool _boundedValue;

    /// <summary>Builds the network; weights come from LibTorch's global generator (seed it with <see cref="TorchRuntime.Seed"/>).</summary>
    public PriorValueNetwork(int features, int actions, int hidden = 64, int layers = 2, bool boundedValue = true)
        : base(nameof(PriorValueNetwork))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(actions);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hidden);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(layers);
        var modules = new List<nn.Module<Tensor, Tensor>>();
        var width = features;
        for (var i = 0; i < layers; i++)
        {
            modules.Add(nn.Linear(width, hidden));
            modules.Add(nn.ReLU());
            width = hidden;
        }
        _trunk = nn.Sequential(modules);
        _policy = nn.Linear(hidden, actions);
        _value = nn.Linear(hidden, 1);
        _boundedValue = boundedValue;
        Features = features;
        Actions = actions;
        RegisterComponents();
    }

    /// <summary>F.</summary>
    public int Features { get; }

    /// <summary>A.</summary>
    public int Actions { get; }

    /// <summary>x <c>[B, F]</c> → (logits <c>[B, A]</c>, value <c>[B]</c>).</summary>
    public override (Tensor Logits, Tensor Value) forward(Tensor input)
    {
        var h = _trunk.call(input);
        var value = _value.call(h).squeeze(-1);
        return (_policy.call(h), _boundedValue ? value.tanh() : value);
    }
}

/// <summary>
/// Neural leaf evaluation for <see cref="BatchedSearch{TEmbedding}"/>: a dynamics model (the
/// environment's step, or any <see cref="IRecurrentModel{TEmbedding}"/>) gives reward, discount,
/// legal actions and the next embedding; then ONE forward pass of a <see cref="PriorValueNetwork"/>
/// over the whole wave gives every new node's prior logits and value. Features are written into a
/// preallocated managed buffer and copied into a preallocated input tensor; every temporary of the
/// forward pass lives in a dispose scope, so a search of N simulations makes N forward passes and
/// leaks no tensors. Terminal nodes (no legal action) keep the dynamics' value.
/// </summary>
public sealed class NeuralLeafModel<TEmbedding> : IRecurrentModel<TEmbedding>, IDisposable
    where TEmbedding : struct
{
    private readonly IRecurrentModel<TEmbedding>? _dynamics;
    private readonly IEmbeddingFeatures<TEmbedding> _features;
    private readonly nn.Module<Tensor, (Tensor Logits, Tensor Value)> _network;
    private readonly int _networkFeatures;
    private readonly int _actions;
    private readonly int _maxBatch;
    private readonly float[] _featureBuffer; // [B, F]
    private readonly float[] _logitBuffer;   // [B, A]
    private readonly float[] _valueBuffer;   // [B]
    private readonly Tensor _input;          // [B, F] over _featureBuffer's memory
    private readonly Tensor _logitsOut;      // [B, A] over _logitBuffer's memory
    private readonly Tensor _valuesOut;      // [B] over _valueBuffer's memory
    private bool _disposed;

    /// <summary>Wraps <paramref name="network"/> for waves of at most <paramref name="maxBatch"/> rows.</summary>
    /// <param name="dynamics">Fills reward, discount, legal actions and next embedding; null keeps the embedding and only evaluates (for tests of the network alone).</param>
    /// <param name="features">Network input of an embedding; its width must equal the network's.</param>
    /// <param name="network">The prior/value network (kept in eval mode, no gradients).</param>
    /// <param name="maxBatch">B.</param>
    public NeuralLeafModel(IRecurrentModel<TEmbedding>? dynamics, IEmbeddingFeatures<TEmbedding> features, PriorValueNetwork network, int maxBatch)
        : this(dynamics, features, network, network?.Features ?? 0, network?.Actions ?? 0, maxBatch)
    {
    }

    /// <summary>Wraps any prior/value module: input <c>[n, <paramref name="networkFeatures"/>]</c> → (logits <c>[n, <paramref name="actions"/>]</c>, values <c>[n]</c>).</summary>
    /// <param name="dynamics">As in the other constructor.</param>
    /// <param name="features">Network input of an embedding; its width must equal <paramref name="networkFeatures"/>.</param>
    /// <param name="network">The module (kept in eval mode, called without gradients); the caller owns it.</param>
    /// <param name="networkFeatures">F, the width of the module's input rows.</param>
    /// <param name="actions">A, the width of its logits.</param>
    /// <param name="maxBatch">B.</param>
    public NeuralLeafModel(IRecurrentModel<TEmbedding>? dynamics, IEmbeddingFeatures<TEmbedding> features, nn.Module<Tensor, (Tensor Logits, Tensor Value)> network,
        int networkFeatures, int actions, int maxBatch)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(actions);
        if (features.FeatureCount != networkFeatures)
        {
            throw new ArgumentException($"features write {features.FeatureCount} floats but the network takes {networkFeatures}", nameof(features));
        }
        TorchRuntime.EnsureInitialized();
        _dynamics = dynamics;
        _features = features;
        _network = network;
        _network.eval();
        _networkFeatures = networkFeatures;
        _actions = actions;
        _maxBatch = maxBatch;
        _featureBuffer = new float[maxBatch * networkFeatures];
        _logitBuffer = new float[maxBatch * actions];
        _valueBuffer = new float[maxBatch];
        // The tensors share the managed buffers' (pinned) memory: features written into the buffer
        // are the network's input, and copy_ into the output views lands in the buffers, so a wave
        // moves no data through accessor objects.
        using (NewDisposeScope())
        {
            _input = from_array(_featureBuffer).reshape(maxBatch, networkFeatures).MoveToOuterDisposeScope();
            _logitsOut = from_array(_logitBuffer).reshape(maxBatch, actions).MoveToOuterDisposeScope();
            _valuesOut = from_array(_valueBuffer).MoveToOuterDisposeScope();
        }
    }

    /// <summary>Forward passes run so far.</summary>
    public long ForwardPasses { get; private set; }

    /// <summary>Rows (embeddings) those forward passes ran, summed.</summary>
    public long ForwardRows { get; private set; }

    /// <inheritdoc/>
    public void Recurrent(in RecurrentBatch<TEmbedding> batch)
    {
        if (_dynamics is null)
        {
            batch.Embeddings.CopyTo(batch.NextEmbeddings);
        }
        else
        {
            _dynamics.Recurrent(batch);
        }
        var n = batch.Count;
        var a = _actions;
        if (batch.ActionCount != a)
        {
            throw new ArgumentException($"search has {batch.ActionCount} actions but the network has {a}");
        }
        Forward(batch.NextEmbeddings);
        WriteOutputs(batch, _logitBuffer.AsSpan(0, n * a), _valueBuffer.AsSpan(0, n));
    }

    /// <summary>
    /// Copies a wave's network outputs (<paramref name="logits"/> <c>[n, A]</c>, <paramref name="values"/> <c>[n]</c>) into
    /// <paramref name="batch"/>'s rows, except for terminal rows (no legal action), whose dynamics' value (usually 0) stands.
    /// </summary>
    internal static void WriteOutputs(in RecurrentBatch<TEmbedding> batch, ReadOnlySpan<float> logits, ReadOnlySpan<float> values)
    {
        var (n, a) = (batch.Count, batch.ActionCount);
        if (!HasTerminal(batch.ValidActions, a))
        {
            // The usual wave: two bulk copies instead of a copy per row.
            logits.CopyTo(batch.PriorLogits);
            values.CopyTo(batch.Values);
            return;
        }
        for (var row = 0; row < n; row++)
        {
            if (!batch.ValidActionsOf(row).Contains(true))
            {
                continue; // terminal: the dynamics' value (usually 0) stands
            }
            logits.Slice(row * a, a).CopyTo(batch.PriorLogitsOf(row));
            batch.Values[row] = values[row];
        }
    }

    /// <summary>Whether some row of the <c>[n, A]</c> mask has no legal action.</summary>
    private static bool HasTerminal(ReadOnlySpan<bool> valid, int a)
    {
        for (var offset = 0; offset < valid.Length; offset += a)
        {
            if (!valid.Slice(offset, a).Contains(true))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// One forward pass over <paramref name="embeddings"/> (n ≤ B): prior logits <c>[n, A]</c> and values <c>[n]</c>.
    /// Also used for the search roots.
    /// </summary>
    public void Evaluate(ReadOnlySpan<TEmbedding> embeddings, Span<float> logits, Span<float> values)
    {
        var n = embeddings.Length;
        Forward(embeddings);
        _logitBuffer.AsSpan(0, n * _actions).CopyTo(logits);
        _valueBuffer.AsSpan(0, n).CopyTo(values);
    }

    /// <summary>Writes the features into the input buffer, runs the network, leaves logits and values in their buffers.</summary>
    private void Forward(ReadOnlySpan<TEmbedding> embeddings)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var n = embeddings.Length;
        if (n > _maxBatch)
        {
            throw new ArgumentException($"{n} embeddings exceed the batch of {_maxBatch}");
        }
        var f = _networkFeatures;
        var features = _featureBuffer.AsSpan(0, n * f);
        for (var i = 0; i < n; i++)
        {
            _features.Write(embeddings[i], features.Slice(i * f, f));
        }
        using (NewDisposeScope())
        using (no_grad())
        {
            // A full wave (the usual case) uses the preallocated tensors as they are: no view objects per pass.
            var full = n == _maxBatch;
            var (logits, values) = _network.call(full ? _input : _input.narrow(0, 0, n));
            (full ? _logitsOut : _logitsOut.narrow(0, 0, n)).copy_(logits);
            (full ? _valuesOut : _valuesOut.narrow(0, 0, n)).copy_(values);
        }
        ForwardPasses++;
        ForwardRows += n;
    }

    /// <summary>Frees the preallocated tensors (the network is the caller's).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _input.Dispose();
        _logitsOut.Dispose();
        _valuesOut.Dispose();
    }
}
