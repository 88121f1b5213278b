using Telos.Agents;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement.Policies;
using Telos.Planning.Search;
using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Learning.Planning;

/// <summary>
/// Gumbel MuZero's search with the true model and a policy's prior and value (AlphaZero's setting): B roots, each
/// on its own level, N simulations each; one forward pass of the policy for the roots and one per simulation wave,
/// never one per node. A feed-forward policy is evaluated by <see cref="NeuralLeafModel{TEmbedding}"/>; a recurrent
/// one (LSTM, DRC) by <see cref="RecurrentPolicyLeaves{TState}"/>, which carries its state along every search path
/// from the state the caller gives each root (<see cref="Run"/>'s <c>rootStates</c>) and keeps the roots' states after
/// their step (<see cref="RootStates"/>) for the caller to advance its running state. Node values are the policy's
/// value head in the environment's reward units; edges carry the environment's reward and γ. All buffers are
/// allocated in the constructor.
/// </summary>
/// <typeparam name="TState">The environment's state.</typeparam>
/// <remarks>Not thread-safe. The policy is shared, not owned.</remarks>
public sealed class PolicySearch<TState> : IDisposable
    where TState : struct
{
    private readonly LevelTableModel<TState> _levels;
    private readonly ActorCriticPriorValue? _priorValue;
    private readonly NeuralLeafModel<LevelState<TState>>? _leaves;
    private readonly RecurrentPolicyLeaves<TState>? _recurrentLeaves;
    private readonly BatchedSearch<LevelState<TState>> _search;
    private readonly LevelState<TState>[] _embeddings;
    private readonly float[] _logits;
    private readonly float[] _values;
    private readonly bool[] _valid;
    private readonly float[] _completedQ;

    // Completed Q in the value's own units: no rescaling, σ = max visit count (divided out again).
    private static readonly CompletedByMixValueQTransform CompletedQTransform = new(valueScale: 1f, maxVisitInit: 0f, rescaleValues: false);

    /// <summary>A search over up to <paramref name="batchSize"/> roots with <paramref name="simulations"/> simulations each.</summary>
    /// <param name="policy">The policy (prior = its logits, value = its value head); a recurrent one's state rides in the tree.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="simulations">N ≥ 1.</param>
    /// <param name="gumbel">The Gumbel policy's hyperparameters (its Q-transform must be the completed-by-mix one).</param>
    /// <param name="discount">γ of every edge.</param>
    /// <exception cref="ArgumentException">Sizes below 1.</exception>
    public PolicySearch(ActorCritic policy, int batchSize, int simulations, GumbelPolicy gumbel, float discount)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(gumbel);
        TorchRuntime.EnsureInitialized();
        Policy = policy;
        _levels = new LevelTableModel<TState>(batchSize, policy.Observation, discount);
        if (policy.StateSize > 0)
        {
            _recurrentLeaves = new RecurrentPolicyLeaves<TState>(_levels, policy, batchSize, simulations);
        }
        else
        {
            _priorValue = new ActorCriticPriorValue(policy);
            _leaves = new NeuralLeafModel<LevelState<TState>>(_levels, _levels, _priorValue, _priorValue.Features, policy.Actions, batchSize);
        }
        _search = new BatchedSearch<LevelState<TState>>(batchSize, policy.Actions, simulations, gumbel);
        _embeddings = new LevelState<TState>[batchSize];
        _logits = new float[batchSize * policy.Actions];
        _values = new float[batchSize];
        _valid = new bool[batchSize * policy.Actions];
        _completedQ = new float[policy.Actions];
    }

    /// <summary>The policy whose prior and value the search uses.</summary>
    public ActorCritic Policy { get; }

    /// <summary>B.</summary>
    public int BatchSize => _search.BatchSize;

    /// <summary>N.</summary>
    public int Simulations => _search.Simulations;

    /// <summary>A.</summary>
    public int ActionCount => _search.ActionCount;

    /// <summary>Forward passes of the policy so far (roots and waves).</summary>
    public long ForwardPasses => _leaves?.ForwardPasses ?? _recurrentLeaves!.ForwardPasses;

    /// <summary>Whether the policy is recurrent: <see cref="Run"/> then takes the roots' running states.</summary>
    public bool Recurrent => _recurrentLeaves is not null;

    /// <summary>Rows those forward passes ran (<see cref="SearchCompute"/>'s search rows).</summary>
    public long ForwardRows => _leaves?.ForwardRows ?? _recurrentLeaves!.ForwardRows;

    /// <summary>
    /// Searches from <paramref name="states"/>[i] on <paramref name="levels"/>[i], root i drawing its randomness from
    /// <paramref name="seeds"/>[i]. Returns the search's view (action, visits, improved policy), valid until the next call.
    /// </summary>
    /// <param name="levels">Each root's level.</param>
    /// <param name="states">Each root's state.</param>
    /// <param name="seeds">Each root's search seed.</param>
    /// <param name="rootStates">A recurrent policy's state before each root's observation, <c>[n, S]</c> (zeros at an episode's start); null for a feed-forward policy.</param>
    /// <exception cref="ArgumentException">Lengths differ or exceed B, a root has no legal action, or root states are missing (recurrent) or given (feed-forward).</exception>
    public SearchResult<LevelState<TState>> Run(ReadOnlySpan<IEnvironment<TState>> levels, ReadOnlySpan<TState> states, ReadOnlySpan<ulong> seeds, RecurrentState? rootStates = null)
    {
        if (Recurrent != rootStates.HasValue)
        {
            throw new ArgumentException(Recurrent ? "a recurrent policy's search needs the roots' running states" : "a feed-forward policy's search takes no root states");
        }
        var n = states.Length;
        if (levels.Length != n || seeds.Length != n || n < 1 || n > BatchSize)
        {
            throw new ArgumentException($"{levels.Length} levels, {n} states and {seeds.Length} seeds; expected equal counts of 1..{BatchSize}");
        }
        var a = ActionCount;
        for (var i = 0; i < n; i++)
        {
            _levels.Levels[i] = levels[i];
            _embeddings[i] = new LevelState<TState>(i, states[i], _recurrentLeaves?.RootSlot(i) ?? 0);
            _levels.LegalActions(_embeddings[i], _valid.AsSpan(i * a, a));
        }
        var embeddings = _embeddings.AsSpan(0, n);
        var root = new SearchRoot<LevelState<TState>>(_logits.AsSpan(0, n * a), _values.AsSpan(0, n), embeddings, _valid.AsSpan(0, n * a));
        if (_recurrentLeaves is not null)
        {
            _recurrentLeaves.EvaluateRoots(embeddings, rootStates!.Value, _logits.AsSpan(0, n * a), _values.AsSpan(0, n));
            return _search.Run(root, _recurrentLeaves, seeds);
        }
        _leaves!.Evaluate(embeddings, _logits.AsSpan(0, n * a), _values.AsSpan(0, n));
        return _search.Run(root, _leaves, seeds);
    }

    /// <summary>
    /// A recurrent policy's state after each root's step in the last <see cref="Run"/>, <c>[n, S]</c> each, in the caller's
    /// dispose scope: the running state acting on the search's action advances to.
    /// </summary>
    /// <exception cref="InvalidOperationException">The policy is feed-forward.</exception>
    public RecurrentState RootStates() =>
        _recurrentLeaves?.RootStates() ?? throw new InvalidOperationException("a feed-forward policy has no state");

    /// <summary>
    /// Gumbel MuZero's policy-improvement check at root <paramref name="root"/> of the last search:
    /// Σ_a (π'(a) − π(a)) · q̂(a), where π' is the search's target (softmax(logits + σ(q̂))), π the prior
    /// (softmax(logits) over legal actions) and q̂ the completed Q in the value's units (visited actions:
    /// Q; the others: the mixed value). Non-negative for every root up to rounding: π' tilts π toward
    /// higher q̂.
    /// </summary>
    public double PolicyImprovement(SearchResult<LevelState<TState>> result, int root)
    {
        ArgumentNullException.ThrowIfNull(result);
        var tree = result.Tree;
        var q = _completedQ.AsSpan();
        CompletedQTransform.Transform(tree, root, SearchTree.RootIndex, q);
        var visits = tree.ChildVisits(root, SearchTree.RootIndex);
        var maxVisit = 0;
        foreach (var v in visits)
        {
            maxVisit = Math.Max(maxVisit, v);
        }
        var prior = tree.ChildPriorProbabilities(root, SearchTree.RootIndex);
        var target = result.ActionWeightsOf(root);
        var valid = tree.ValidActions(root, SearchTree.RootIndex);
        double gain = 0;
        for (var i = 0; i < q.Length; i++)
        {
            if (valid[i])
            {
                gain += (target[i] - prior[i]) * (double)(q[i] / maxVisit);
            }
        }
        return gain;
    }

    /// <summary>Frees the leaf model's tensors and the adapter (the policy is the caller's).</summary>
    public void Dispose()
    {
        _leaves?.Dispose();
        _priorValue?.Dispose();
        _recurrentLeaves?.Dispose();
    }
}

/// <summary>
/// A policy planned with: every decision is a <see cref="PolicySearch{TState}"/> at budget N from the
/// lane's state with the true model, the policy's prior and value at the leaves, and the search's action taken
/// (<see cref="AgentKind.NeuralObjective"/>: a hard-coded optimizer whose objective is the value head). With
/// Gumbel scale 0 the search is deterministic; otherwise each lane draws its search seeds from its episode
/// seed, so a lane's actions do not depend on the others. A recurrent policy's lane keeps its running state
/// (zeroed by <see cref="Reset"/>), which each decision advances by the root's step, as in training.
/// </summary>
/// <typeparam name="TState">The environment's state.</typeparam>
/// <remarks>The policy is shared, not owned; disposing frees the search's buffers.</remarks>
public sealed class PolicySearchAgent<TState> : IBatchedAgent<TState>, IDisposable
    where TState : struct
{
    private readonly PolicySearch<TState> _search;
    private readonly IEnvironment<TState>?[] _laneLevels;
    private readonly Rng[] _streams;
    private readonly IEnvironment<TState>[] _levels;
    private readonly ulong[] _seeds;
    private readonly long[] _laneIndex;
    private readonly Tensor? _hidden; // [lanes, S] for a recurrent policy
    private readonly Tensor? _cell;   // [lanes, S]

    /// <summary>An agent of <paramref name="lanes"/> lanes searching with <paramref name="policy"/> at <paramref name="simulations"/> simulations.</summary>
    /// <param name="policy">The policy (feed-forward or recurrent).</param>
    /// <param name="lanes">B ≥ 1.</param>
    /// <param name="simulations">N ≥ 1.</param>
    /// <param name="name">The name tables show.</param>
    /// <param name="discount">γ of the search's edges (the training's).</param>
    /// <param name="gumbelScale">Scale of the root's Gumbel noise; 0 (the default) searches deterministically.</param>
    public PolicySearchAgent(ActorCritic policy, int lanes, int simulations, string name, float discount, float gumbelScale = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lanes, 1);
        _search = new PolicySearch<TState>(policy, lanes, simulations, new GumbelPolicy { GumbelScale = gumbelScale }, discount);
        Name = name;
        _laneLevels = new IEnvironment<TState>?[lanes];
        _streams = new Rng[lanes];
        _levels = new IEnvironment<TState>[lanes];
        _seeds = new ulong[lanes];
        _laneIndex = new long[lanes];
        if (_search.Recurrent)
        {
            _hidden = zeros(lanes, policy.StateSize).DetachFromDisposeScope();
            _cell = zeros(lanes, policy.StateSize).DetachFromDisposeScope();
        }
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public AgentKind Kind => AgentKind.NeuralObjective;

    /// <inheritdoc/>
    public int Lanes => _laneLevels.Length;

    /// <summary>N.</summary>
    public int Simulations => _search.Simulations;

    /// <exception cref="TelosInputException">The level's observations or actions do not fit the policy.</exception>
    public void Reset(int lane, IEnvironment<TState> level, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(level);
        var policy = _search.Policy;
        if (level.ObservationShape != policy.Observation || level.ActionCount != policy.Actions)
        {
            throw new TelosInputException($"{Name} takes {policy.Observation} observations and {policy.Actions} actions; the level has {level.ObservationShape} and {level.ActionCount}");
        }
        _laneLevels[lane] = level;
        _streams[lane] = Seeds.Stream(seed, "policy-search-agent/search");
        if (_hidden is not null)
        {
            using var scope = NewDisposeScope(); // the row views
            using var noGrad = no_grad();
            _hidden[lane].zero_();
            _cell![lane].zero_();
        }
    }

    /// <inheritdoc/>
    public void Act(ReadOnlySpan<int> lanes, ReadOnlySpan<TState> states, Span<int> actions)
    {
        var k = lanes.Length;
        if (k == 0)
        {
            return;
        }
        for (var i = 0; i < k; i++)
        {
            _levels[i] = _laneLevels[lanes[i]] ?? throw new InvalidOperationException($"lane {lanes[i]} acted before Reset");
            _seeds[i] = _streams[lanes[i]].NextULong();
            _laneIndex[i] = lanes[i];
        }
        if (_hidden is null)
        {
            _search.Run(_levels.AsSpan(0, k), states, _seeds.AsSpan(0, k)).Actions.CopyTo(actions);
            return;
        }
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var index = tensor(_laneIndex).narrow(0, 0, k);
        var result = _search.Run(_levels.AsSpan(0, k), states, _seeds.AsSpan(0, k), new RecurrentState(_hidden.index_select(0, index), _cell!.index_select(0, index)));
        result.Actions.CopyTo(actions);
        var after = _search.RootStates();
        _hidden.index_copy_(0, index, after.Hidden);
        _cell.index_copy_(0, index, after.Cell);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _search.Dispose();
        _hidden?.Dispose();
        _cell?.Dispose();
    }
}
