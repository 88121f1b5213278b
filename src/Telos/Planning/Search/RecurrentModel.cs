using Telos.Randomness;

namespace Telos.Planning.Search;

/// <summary>
/// One wave of expansions handed to an <see cref="IRecurrentModel{TEmbedding}"/>: n rows, one per
/// root that needs a new node this simulation (n ≤ B; roots whose selected node has no legal
/// action are skipped). Inputs are read-only; the model writes every output row. Outputs arrive
/// pre-filled with defaults (reward 0, discount 1, logits 0, value 0, all actions valid), so a
/// model only writes what it knows.
/// </summary>
public readonly ref struct RecurrentBatch<TEmbedding>
    where TEmbedding : struct
{
    internal RecurrentBatch(
        int actionCount, ReadOnlySpan<int> roots, ReadOnlySpan<int> actions, ReadOnlySpan<TEmbedding> embeddings, Span<Rng> random,
        Span<float> rewards, Span<float> discounts, Span<float> priorLogits, Span<float> values, Span<bool> validActions, Span<TEmbedding> nextEmbeddings)
    {
        ActionCount = actionCount;
        Roots = roots;
        Actions = actions;
        Embeddings = embeddings;
        Random = random;
        Rewards = rewards;
        Discounts = discounts;
        PriorLogits = priorLogits;
        Values = values;
        ValidActions = validActions;
        NextEmbeddings = nextEmbeddings;
    }

    /// <summary>n, the number of rows.</summary>
    public int Count => Actions.Length;

    /// <summary>A.</summary>
    public int ActionCount { get; }

    /// <summary>Input <c>[n]</c>: which root (0..B−1) each row belongs to.</summary>
    public ReadOnlySpan<int> Roots { get; }

    /// <summary>Input <c>[n]</c>: the action taken from the parent (always valid there).</summary>
    public ReadOnlySpan<int> Actions { get; }

    /// <summary>Input <c>[n]</c>: the parent's embedding.</summary>
    public ReadOnlySpan<TEmbedding> Embeddings { get; }

    /// <summary>Input <c>[n]</c>: each row's root RNG stream (for rollouts, stochastic models); draws advance the root's stream.</summary>
    public Span<Rng> Random { get; }

    /// <summary>Output <c>[n]</c>: reward of the transition, from the view of the player who acted.</summary>
    public Span<float> Rewards { get; }

    /// <summary>Output <c>[n]</c>: discount of the transition; 0 after a terminal step, −1 (or −γ) in alternating two-player zero-sum games.</summary>
    public Span<float> Discounts { get; }

    /// <summary>Output <c>[n, A]</c> row-major: prior logits at the new node.</summary>
    public Span<float> PriorLogits { get; }

    /// <summary>Output <c>[n]</c>: value of the new node, from the view of the player to move there.</summary>
    public Span<float> Values { get; }

    /// <summary>Output <c>[n, A]</c> row-major: legal actions at the new node. A node with none is a dead end (terminal): later simulations that reach it back up its value again.</summary>
    public Span<bool> ValidActions { get; }

    /// <summary>Output <c>[n]</c>: the new node's embedding.</summary>
    public Span<TEmbedding> NextEmbeddings { get; }

    /// <summary>Row <paramref name="row"/> of <see cref="PriorLogits"/>, length A.</summary>
    public Span<float> PriorLogitsOf(int row) => PriorLogits.Slice(row * ActionCount, ActionCount);

    /// <summary>Row <paramref name="row"/> of <see cref="ValidActions"/>, length A.</summary>
    public Span<bool> ValidActionsOf(int row) => ValidActions.Slice(row * ActionCount, ActionCount);
}

/// <summary>
/// mctx's recurrent function: (action <c>[B]</c>, parent embedding <c>[B]</c>) → (reward <c>[B]</c>,
/// discount <c>[B]</c>, prior logits <c>[B, A]</c>, value <c>[B]</c>, legal actions <c>[B, A]</c>, next
/// embedding <c>[B]</c>). The search calls it exactly once per simulation for the whole batch,
/// so a neural implementation runs one forward pass per wave. The model may be the
/// environment's own pure step (<see cref="EnvironmentModel{TState}"/>) or a learned one.
/// </summary>
public interface IRecurrentModel<TEmbedding>
    where TEmbedding : struct
{
    /// <summary>Fills the outputs of every row of <paramref name="batch"/>. Must not keep the spans.</summary>
    void Recurrent(in RecurrentBatch<TEmbedding> batch);
}

/// <summary>
/// The roots of a batched search: prior logits <c>[B, A]</c>, values <c>[B]</c>, embeddings <c>[B]</c>
/// and optionally legal actions <c>[B, A]</c> (empty = all legal). Every root needs at least one legal action.
/// </summary>
public readonly ref struct SearchRoot<TEmbedding>
    where TEmbedding : struct
{
    /// <summary>Bundles the root arrays; shapes are checked by the search.</summary>
    public SearchRoot(ReadOnlySpan<float> priorLogits, ReadOnlySpan<float> values, ReadOnlySpan<TEmbedding> embeddings, ReadOnlySpan<bool> validActions = default)
    {
        PriorLogits = priorLogits;
        Values = values;
        Embeddings = embeddings;
        ValidActions = validActions;
    }

    /// <summary><c>[B, A]</c> row-major.</summary>
    public ReadOnlySpan<float> PriorLogits { get; }

    /// <summary><c>[B]</c>.</summary>
    public ReadOnlySpan<float> Values { get; }

    /// <summary><c>[B]</c>.</summary>
    public ReadOnlySpan<TEmbedding> Embeddings { get; }

    /// <summary><c>[B, A]</c> row-major, or empty when every action is legal.</summary>
    public ReadOnlySpan<bool> ValidActions { get; }
}
