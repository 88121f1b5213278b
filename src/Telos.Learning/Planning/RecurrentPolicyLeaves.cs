using Telos.Learning.Native;
using Telos.Learning.Reinforcement.Policies;
using Telos.Planning.Search;
using static TorchSharp.torch;

namespace Telos.Learning.Planning;

/// <summary>
/// Neural leaf evaluation with a recurrent policy (an LSTM or DRC core): the network's state rides along the search
/// path as part of each node's embedding. Every node's state after its forward pass lives in a preallocated pool of
/// B·(N + 1) rows (<see cref="LevelState{TState}.Slot"/> names its row): root b's row is b·(N + 1), the node root b
/// expands in the model's w-th call of the search goes to row b·(N + 1) + w + 1 (a root expands at most one node per
/// call, so rows never collide). A wave is ONE forward step of the policy over all its rows: the parents' state rows
/// are gathered from the pool (one <c>index_select</c> per tensor), the children's observations fed, the new states
/// scattered back (one <c>index_copy_</c> per tensor), never a TorchSharp call per node. So the prior and value at a
/// node are what the network computes after stepping sequentially through the observations of the path from the root,
/// starting from the state the caller gives each root (the environment's running state). Terminal nodes keep the
/// dynamics' value.
/// </summary>
/// <typeparam name="TState">The environment's state.</typeparam>
/// <remarks>Not thread-safe. The policy is shared, not owned; it is run without gradients and its training mode is left alone.</remarks>
public sealed class RecurrentPolicyLeaves<TState> : IRecurrentModel<LevelState<TState>>, IDisposable
    where TState : struct
{
    private readonly LevelTableModel<TState> _levels;
    private readonly ActorCritic _policy;
    private readonly int _maxBatch;
    private readonly int _slotsPerRoot; // N + 1
    private readonly int _features;     // F
    private readonly int _actions;      // A
    private readonly float[] _featureBuffer; // [B, F]
    private readonly float[] _logitBuffer;   // [B, A]
    private readonly float[] _valueBuffer;   // [B]
    private readonly long[] _parentSlots;    // [B]
    private readonly long[] _childSlots;     // [B]
    private readonly Tensor _input;          // [1, B, C, H, W] over _featureBuffer's memory
    private readonly Tensor _logitsOut;      // [B, A] over _logitBuffer's memory
    private readonly Tensor _valuesOut;      // [B] over _valueBuffer's memory
    private readonly Tensor _parentIndex;    // [B] over _parentSlots
    private readonly Tensor _childIndex;     // [B] over _childSlots
    private readonly Tensor _starts;         // [1, B] zeros: no episode starts inside a search
    private readonly Tensor _poolHidden;     // [B·(N+1), S]
    private readonly Tensor _poolCell;       // [B·(N+1), S]
    private int _calls;
    private int _roots;
    private bool _disposed;

    /// <summary>Leaves for searches of up to <paramref name="maxBatch"/> roots and <paramref name="simulations"/> simulations.</summary>
    /// <param name="levels">The true model (reward, discount, legal actions, next state) and the observation writer.</param>
    /// <param name="policy">A recurrent policy (state size &gt; 0) over the levels' observations.</param>
    /// <param name="maxBatch">B.</param>
    /// <param name="simulations">N: the most model calls per search.</param>
    /// <exception cref="ArgumentException">A feed-forward policy, sizes below 1, or a policy whose observation is not the levels'.</exception>
    public RecurrentPolicyLeaves(LevelTableModel<TState> levels, ActorCritic policy, int maxBatch, int simulations)
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(simulations);
        if (policy.StateSize == 0)
        {
            throw new ArgumentException($"{policy.GetType().Name} is feed-forward; use NeuralLeafModel with ActorCriticPriorValue", nameof(policy));
        }
        if (levels.Observation != policy.Observation)
        {
            throw new ArgumentException($"the levels' observations are {levels.Observation}, the policy takes {policy.Observation}", nameof(policy));
        }
        TorchRuntime.EnsureInitialized();
        _levels = levels;
        _policy = policy;
        _maxBatch = maxBatch;
        _slotsPerRoot = simulations + 1;
        _features = policy.Observation.Size;
        _actions = policy.Actions;
        _featureBuffer = new float[maxBatch * _features];
        _logitBuffer = new float[maxBatch * _actions];
        _valueBuffer = new float[maxBatch];
        _parentSlots = new long[maxBatch];
        _childSlots = new long[maxBatch];
        var o = policy.Observation;
        using (NewDisposeScope())
        {
            _input = from_array(_featureBuffer).view(1, maxBatch, o.Channels, o.Height, o.Width).MoveToOuterDisposeScope();
            _logitsOut = from_array(_logitBuffer).view(maxBatch, _actions).MoveToOuterDisposeScope();
            _valuesOut = from_array(_valueBuffer).MoveToOuterDisposeScope();
            _parentIndex = from_array(_parentSlots).MoveToOuterDisposeScope();
            _childIndex = from_array(_childSlots).MoveToOuterDisposeScope();
            _starts = zeros(1, maxBatch).MoveToOuterDisposeScope();
            _poolHidden = zeros((long)maxBatch * _slotsPerRoot, policy.StateSize).MoveToOuterDisposeScope();
            _poolCell = zeros((long)maxBatch * _slotsPerRoot, policy.StateSize).MoveToOuterDisposeScope();
        }
    }

    /// <summary>Forward passes run so far (roots and waves).</summary>
    public long ForwardPasses { get; private set; }

    /// <summary>Rows those forward passes ran (each pass's active roots).</summary>
    public long ForwardRows { get; private set; }

    /// <summary>The pool row of root <paramref name="root"/>'s node: root·(N + 1).</summary>
    public int RootSlot(int root) => root * _slotsPerRoot;

    /// <summary>
    /// Starts a search: one forward step of the policy from <paramref name="state"/> (<c>[n, S]</c>, each root's running
    /// state before its current observation) over the roots' observations; writes their prior logits <c>[n, A]</c> and
    /// values <c>[n]</c>, and keeps the states after the step in the roots' pool rows. <paramref name="roots"/>[b] must
    /// carry slot <see cref="RootSlot"/>(b).
    /// </summary>
    /// <exception cref="ArgumentException">More roots than B, a root in another slot, or a state of another shape.</exception>
    public void EvaluateRoots(ReadOnlySpan<LevelState<TState>> roots, RecurrentState state, Span<float> logits, Span<float> values)
    {
        ArgumentNullException.ThrowIfNull(state.Hidden);
        ArgumentNullException.ThrowIfNull(state.Cell);
        var n = roots.Length;
        if (state.Hidden.shape.Length != 2 || state.Hidden.shape[0] != n || state.Hidden.shape[1] != _policy.StateSize
            || !state.Cell.shape.SequenceEqual(state.Hidden.shape))
        {
            throw new ArgumentException($"root state [{string.Join(", ", state.Hidden.shape)}] / [{string.Join(", ", state.Cell.shape)}]; expected [{n}, {_policy.StateSize}]");
        }
        for (var b = 0; b < n; b++)
        {
            if (roots[b].Slot != RootSlot(b))
            {
                throw new ArgumentException($"root {b} carries slot {roots[b].Slot}, not {RootSlot(b)}");
            }
            _childSlots[b] = RootSlot(b);
        }
        _roots = n;
        _calls = 0;
        Forward(roots, state);
        _logitBuffer.AsSpan(0, n * _actions).CopyTo(logits);
        _valueBuffer.AsSpan(0, n).CopyTo(values);
    }

    /// <summary>The states after the last search's root steps, <c>[n, S]</c> each, in the caller's dispose scope: what acting advances the running state to.</summary>
    public RecurrentState RootStates()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = NewDisposeScope();
        var slots = arange(0L, (long)_roots * _slotsPerRoot, _slotsPerRoot);
        return new RecurrentState(_poolHidden.index_select(0, slots).MoveToOuterDisposeScope(), _poolCell.index_select(0, slots).MoveToOuterDisposeScope());
    }

    /// <inheritdoc/>
    public void Recurrent(in RecurrentBatch<LevelState<TState>> batch)
    {
        if (batch.ActionCount != _actions)
        {
            throw new ArgumentException($"search has {batch.ActionCount} actions but the network has {_actions}");
        }
        if (_calls + 1 >= _slotsPerRoot)
        {
            throw new InvalidOperationException($"more than {_slotsPerRoot - 1} model calls since the roots were evaluated");
        }
        _levels.Recurrent(batch);
        var n = batch.Count;
        _calls++;
        for (var row = 0; row < n; row++)
        {
            var root = batch.Roots[row];
            var slot = (root * _slotsPerRoot) + _calls;
            _parentSlots[row] = batch.Embeddings[row].Slot;
            _childSlots[row] = slot;
            batch.NextEmbeddings[row] = batch.NextEmbeddings[row] with { Slot = slot };
        }
        using (NewDisposeScope())
        {
            var full = n == _maxBatch;
            var parents = full ? _parentIndex : _parentIndex.narrow(0, 0, n);
            Forward(batch.NextEmbeddings, new RecurrentState(_poolHidden.index_select(0, parents), _poolCell.index_select(0, parents)));
        }
        NeuralLeafModel<LevelState<TState>>.WriteOutputs(batch, _logitBuffer.AsSpan(0, n * _actions), _valueBuffer.AsSpan(0, n));
    }

    /// <summary>Writes the observations, steps the policy once from <paramref name="state"/>, scatters the new states into the rows <c>_childSlots[..n]</c>, leaves logits and values in their buffers.</summary>
    private void Forward(ReadOnlySpan<LevelState<TState>> embeddings, RecurrentState state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var n = embeddings.Length;
        if (n > _maxBatch)
        {
            throw new ArgumentException($"{n} embeddings exceed the batch of {_maxBatch}");
        }
        var f = _features;
        var features = _featureBuffer.AsSpan(0, n * f);
        for (var i = 0; i < n; i++)
        {
            _levels.Write(embeddings[i], features.Slice(i * f, f));
        }
        using (NewDisposeScope())
        using (no_grad())
        {
            // A full wave (the usual case) uses the preallocated tensors as they are: no view objects per pass.
            var full = n == _maxBatch;
            var output = _policy.Unroll(full ? _input : _input.narrow(1, 0, n), state, full ? _starts : _starts.narrow(1, 0, n));
            var children = full ? _childIndex : _childIndex.narrow(0, 0, n);
            _poolHidden.index_copy_(0, children, output.State.Hidden);
            _poolCell.index_copy_(0, children, output.State.Cell);
            (full ? _logitsOut : _logitsOut.narrow(0, 0, n)).copy_(output.Logits[0]);
            (full ? _valuesOut : _valuesOut.narrow(0, 0, n)).copy_(output.Values[0]);
        }
        ForwardPasses++;
        ForwardRows += n;
    }

    /// <summary>Frees the pool and the preallocated tensors (the policy is the caller's).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var t in new[] { _input, _logitsOut, _valuesOut, _parentIndex, _childIndex, _starts, _poolHidden, _poolCell })
        {
            t.Dispose();
        }
    }
}
