using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Telos.Planning.Search;

/// <summary>
/// The numeric part of a batch of search trees, with mctx's indexing: B independent roots, N+1 node
/// slots per root (the root is node 0; the node created by simulation <c>i</c> has index <c>i + 1</c>
/// when every simulation expands one), A actions. What selection, expansion and backup touch sits in
/// one contiguous block per node, <c>[B, N+1, 4 + 6A + ⌈A/4⌉]</c> ints (floats stored as bits): a
/// header (node visits, backed-up value, raw model value, legal-action count), then rows of A —
/// child index (<see cref="Unvisited"/> when not expanded), child visits, Q = reward + discount·value,
/// PUCT's masked prior (−∞ when illegal), max-shifted prior logits (−∞ when illegal), prior
/// probabilities, and the legal mask (A bools padded to whole ints). Beside the blocks, per node
/// <c>[B, N+1]</c>: the edge in (parent, action, reward, discount); child values, rewards and
/// discounts <c>[B, N+1, A]</c> are not kept by the search and are filled from the edges on first
/// read after it. The public accessors return rows of A by (root, node) whatever the layout.
/// Storage is allocated once; <see cref="Reset"/> only forgets the node counts, and each node's
/// block is initialised when it is created, so slots at or beyond <see cref="NodeCount"/> hold
/// stale data and must not be read.
/// </summary>
public class SearchTree
{
    /// <summary>Child index of an action that has not been expanded.</summary>
    public const int Unvisited = -1;

    /// <summary>Index of the root node in every tree.</summary>
    public const int RootIndex = 0;

    /// <summary>Parent of the root.</summary>
    public const int NoParent = -1;

    // [B, N+1, stride]: per node, a header (visits, value, raw model value, valid-action count; floats as bits)
    // then adjacent rows of A: child index, child visit counts, Q = reward + discount·value (kept by backup),
    // PUCT's masked prior (prior for legal, −∞ for illegal), prior logits (max-shifted, −∞ when illegal),
    // prior probabilities (softmax over legal actions), and the legal mask (A bools, padded to whole ints).
    // Selection, expansion and backup touch one contiguous block per node instead of scattered rows.
    internal readonly int[] ChildBlocks;
    internal readonly int BlockStride;           // 4 + 6A + ⌈A/4⌉
    internal const int HeaderSize = 4;
    internal const int VectorSlack = 16;
    internal readonly float[] ChildValueArray;    // [B, N+1, A] the child node's NodeValue, not Q; filled lazily after a search
    internal readonly float[] ChildRewardValues; // [B, N+1, A] filled lazily after a search (backup reads NodeEdge)
    internal readonly float[] ChildDiscountValues; // [B, N+1, A] filled lazily after a search
    internal readonly NodeEdge[] Edges;          // [B, N+1] parent, action, reward and discount into each node: backup reads one line per step
    internal readonly int[] Counts;
    // Per root: whether ChildValueArray/ChildRewardValues/ChildDiscountValues are current. The search never
    // reads them, so they are filled on first access after a search instead of on every search.
    private readonly bool[] _childValuesFilled;              // [B] nodes created

    /// <summary>Allocates trees for <paramref name="batchSize"/> roots, <paramref name="simulations"/> simulations and <paramref name="actionCount"/> actions.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public SearchTree(int batchSize, int simulations, int actionCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(simulations);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(actionCount);
        BatchSize = batchSize;
        Capacity = simulations + 1;
        ActionCount = actionCount;
        var nodes = batchSize * Capacity;
        var children = nodes * actionCount;
        BlockStride = HeaderSize + (6 * actionCount) + ((actionCount + 3) / 4);
        // One vector of slack at the end: one-vector selection loads 16 lanes from a node's rows and masks off
        // those past A, which for small A reach beyond the last block.
        ChildBlocks = new int[(nodes * BlockStride) + VectorSlack];
        ChildValueArray = new float[children];
        ChildRewardValues = new float[children];
        ChildDiscountValues = new float[children];
        Edges = new NodeEdge[nodes];
        Counts = new int[batchSize];
        _childValuesFilled = new bool[batchSize];
    }

    /// <summary>B, the number of independent roots.</summary>
    public int BatchSize { get; }

    /// <summary>N+1, the number of node slots per root (root plus one per simulation).</summary>
    public int Capacity { get; }

    /// <summary>A, the number of actions.</summary>
    public int ActionCount { get; }

    /// <summary>Forgets every tree (O(B)); storage is kept for the next search.</summary>
    public void Reset()
    {
        Array.Clear(Counts);
        Array.Clear(_childValuesFilled);
    }

    /// <summary>Nodes created so far in the tree of <paramref name="root"/> (1 after the root is set, at most N+1).</summary>
    public int NodeCount(int root) => Counts[root];

    /// <summary>Child node index per action, <see cref="Unvisited"/> when not expanded. Length A.</summary>
    public ReadOnlySpan<int> ChildIndices(int root, int node) => ChildIndexRow(NodeOffset(root, node));

    /// <summary>Visit count of each child. Length A.</summary>
    public ReadOnlySpan<int> ChildVisits(int root, int node) => VisitRow(NodeOffset(root, node));

    /// <summary>
    /// Value estimate of each child node (from the child's player's view; 0 when unvisited). Length A.
    /// Computed on first read after a search (during a search, Q-transforms read <see cref="QValue"/>, which backup keeps current).
    /// </summary>
    public ReadOnlySpan<float> ChildValues(int root, int node)
    {
        EnsureChildValues(root);
        return ChildValueArray.AsSpan(ChildOffset(root, node), ActionCount);
    }

    /// <summary>Reward of each transition from this node (0 when unvisited). Length A. Computed on first read after a search.</summary>
    public ReadOnlySpan<float> ChildRewards(int root, int node)
    {
        EnsureChildValues(root);
        return ChildRewardValues.AsSpan(ChildOffset(root, node), ActionCount);
    }

    /// <summary>Discount of each transition (−1 in alternating two-player games; 0 when unvisited). Length A. Computed on first read after a search.</summary>
    public ReadOnlySpan<float> ChildDiscounts(int root, int node)
    {
        EnsureChildValues(root);
        return ChildDiscountValues.AsSpan(ChildOffset(root, node), ActionCount);
    }

    /// <summary>Prior logits of the node's actions, shifted so the largest valid one is 0; −∞ for invalid actions. Length A.</summary>
    public ReadOnlySpan<float> ChildPriorLogits(int root, int node) => LogitRow(NodeOffset(root, node));

    /// <summary>Prior probabilities (softmax over valid actions; 0 for invalid). Length A.</summary>
    public ReadOnlySpan<float> ChildPriorProbabilities(int root, int node) => PriorRow(NodeOffset(root, node));

    /// <summary>Which actions are legal at the node. Length A.</summary>
    public ReadOnlySpan<bool> ValidActions(int root, int node) => ValidRow(NodeOffset(root, node));

    /// <summary>Visits of the node: 1 for its expansion plus one per simulation through it.</summary>
    public int NodeVisits(int root, int node) => VisitsAt(NodeOffset(root, node));

    /// <summary>Running mean of the backed-up values through the node (from the node's player's view).</summary>
    public float NodeValue(int root, int node) => ValueAt(NodeOffset(root, node));

    /// <summary>The value the model gave the node when it was expanded.</summary>
    public float RawValue(int root, int node) => RawValueAt(NodeOffset(root, node));

    /// <summary>The node's parent, <see cref="NoParent"/> for the root.</summary>
    public int Parent(int root, int node) => Edges[NodeOffset(root, node)].Parent;

    /// <summary>The action that led from the parent to the node, −1 for the root.</summary>
    public int ActionFromParent(int root, int node) => Edges[NodeOffset(root, node)].Action;

    /// <summary>Q(node, a) = reward + discount · value(child), mctx's <c>tree.qvalues</c>; 0 for unvisited children.</summary>
    public float QValue(int root, int node, int action) => QRow(NodeOffset(root, node))[action];

    /// <summary>Writes Q(node, a) for every action into <paramref name="q"/> (length A).</summary>
    public void QValues(int root, int node, Span<float> q)
    {
        QRow(NodeOffset(root, node)).CopyTo(q);
    }

    /// <summary>Marks the lazily filled child values stale (the search calls it when it ends).</summary>
    internal void InvalidateChildValues() => Array.Clear(_childValuesFilled);

    private void EnsureChildValues(int root)
    {
        if (!_childValuesFilled[root])
        {
            FillChildValues(root);
            _childValuesFilled[root] = true;
        }
    }

    /// <summary>
    /// Writes <see cref="ChildValues"/>, <see cref="ChildRewards"/> and <see cref="ChildDiscounts"/> of every
    /// node of <paramref name="root"/> from the children's node values and edges (the search itself never reads them).
    /// </summary>
    private void FillChildValues(int root)
    {
        var a = ActionCount;
        var baseNode = root * Capacity;
        for (var node = 0; node < Counts[root]; node++)
        {
            var o = (baseNode + node) * a;
            var children = ChildIndexRow(baseNode + node);
            for (var i = 0; i < a; i++)
            {
                var child = children[i];
                if (child == Unvisited)
                {
                    ChildValueArray[o + i] = 0f;
                    ChildRewardValues[o + i] = 0f;
                    ChildDiscountValues[o + i] = 0f;
                }
                else
                {
                    var edge = Edges[baseNode + child];
                    ChildValueArray[o + i] = ValueAt(baseNode + child);
                    ChildRewardValues[o + i] = edge.Reward;
                    ChildDiscountValues[o + i] = edge.Discount;
                }
            }
        }
    }

    /// <summary>Child indices of node slot <paramref name="n"/> (= <see cref="NodeOffset"/>). Length A.</summary>
    internal Span<int> ChildIndexRow(int n) => ChildBlocks.AsSpan(n * BlockStride + HeaderSize, ActionCount);

    /// <summary>Child visit counts of node slot <paramref name="n"/>. Length A.</summary>
    internal Span<int> VisitRow(int n) => ChildBlocks.AsSpan(n * BlockStride + HeaderSize + ActionCount, ActionCount);

    /// <summary>Child Q values of node slot <paramref name="n"/>. Length A.</summary>
    internal Span<float> QRow(int n) => MemoryMarshal.Cast<int, float>(ChildBlocks.AsSpan(n * BlockStride + HeaderSize + (2 * ActionCount), ActionCount));

    /// <summary>Masked priors of node slot <paramref name="n"/> (−∞ when illegal). Length A.</summary>
    internal Span<float> PriorScoreRow(int n) => MemoryMarshal.Cast<int, float>(ChildBlocks.AsSpan(n * BlockStride + HeaderSize + (3 * ActionCount), ActionCount));

    /// <summary>Prior logits of node slot <paramref name="n"/> (max-shifted, −∞ when illegal). Length A.</summary>
    internal Span<float> LogitRow(int n) => MemoryMarshal.Cast<int, float>(ChildBlocks.AsSpan(n * BlockStride + HeaderSize + (4 * ActionCount), ActionCount));

    /// <summary>Prior probabilities of node slot <paramref name="n"/> (0 when illegal). Length A.</summary>
    internal Span<float> PriorRow(int n) => MemoryMarshal.Cast<int, float>(ChildBlocks.AsSpan(n * BlockStride + HeaderSize + (5 * ActionCount), ActionCount));

    /// <summary>Legal mask of node slot <paramref name="n"/>. Length A.</summary>
    internal Span<bool> ValidRow(int n) => MemoryMarshal.Cast<int, bool>(ChildBlocks.AsSpan(n * BlockStride + HeaderSize + (6 * ActionCount), (ActionCount + 3) / 4))[..ActionCount];

    /// <summary>
    /// Child-index row of node slot <paramref name="n"/>'s block, unchecked: child index at +0, visits at +A,
    /// Q at +2A, masked priors at +3A, logits at +4A, priors at +5A, legal mask (bools) at +6A; header at −4.
    /// </summary>
    internal ref int BlockRef(int n) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(ChildBlocks), ((nint)n * BlockStride) + HeaderSize);

    /// <summary>Visits of node slot <paramref name="n"/>: 1 for its expansion plus one per simulation through it.</summary>
    internal ref int VisitsAt(int n) => ref ChildBlocks[n * BlockStride];

    /// <summary>Backed-up mean value of node slot <paramref name="n"/>.</summary>
    internal ref float ValueAt(int n) => ref Unsafe.As<int, float>(ref ChildBlocks[(n * BlockStride) + 1]);

    /// <summary>The model's value of node slot <paramref name="n"/> when it was expanded.</summary>
    internal ref float RawValueAt(int n) => ref Unsafe.As<int, float>(ref ChildBlocks[(n * BlockStride) + 2]);

    /// <summary>Number of legal actions at node slot <paramref name="n"/>.</summary>
    internal ref int ValidCountAt(int n) => ref ChildBlocks[(n * BlockStride) + 3];

    internal int NodeOffset(int root, int node) => root * Capacity + node;

    internal int ChildOffset(int root, int node) => (root * Capacity + node) * ActionCount;

    /// <summary>
    /// Initialises node slot <paramref name="node"/> of <paramref name="root"/>: clears its child rows,
    /// stores the masked prior (logits shifted by their max over valid actions, softmax cached)
    /// and the model value. Returns the number of valid actions.
    /// </summary>
    internal int InitializeNode(int root, int node, int parent, int action, ReadOnlySpan<float> logits, ReadOnlySpan<bool> valid, float value)
    {
        var n = NodeOffset(root, node);
        var a = ActionCount;
        ChildIndexRow(n).Fill(Unvisited);
        ChildBlocks.AsSpan(n * BlockStride + HeaderSize + a, 2 * a).Clear(); // visits and Q
        var storedValid = ValidRow(n);
        valid[..a].CopyTo(storedValid);
        var priors = PriorRow(n);
        var validCount = StorePrior(LogitRow(n), priors, logits, storedValid);
        var priorScores = PriorScoreRow(n);
        for (var i = 0; i < priorScores.Length; i++)
        {
            priorScores[i] = storedValid[i] ? priors[i] : float.NegativeInfinity;
        }
        ValidCountAt(n) = validCount;
        VisitsAt(n) = 0;
        ValueAt(n) = value;
        RawValueAt(n) = value;
        Edges[n] = new NodeEdge(parent, action, 0f, 0f);
        return validCount;
    }

    /// <summary>Masked, max-shifted logits and their softmax; returns the number of valid actions.</summary>
    internal static int StorePrior(Span<float> storedLogits, Span<float> priors, ReadOnlySpan<float> logits, ReadOnlySpan<bool> valid)
    {
        var max = float.NegativeInfinity;
        var count = 0;
        for (var i = 0; i < storedLogits.Length; i++)
        {
            if (valid[i])
            {
                count++;
                if (logits[i] > max)
                {
                    max = logits[i];
                }
            }
        }
        var sum = 0f;
        for (var i = 0; i < storedLogits.Length; i++)
        {
            if (valid[i])
            {
                var shifted = logits[i] - max;
                storedLogits[i] = shifted;
                var p = MathF.Exp(shifted);
                priors[i] = p;
                sum += p;
            }
            else
            {
                storedLogits[i] = float.NegativeInfinity;
                priors[i] = 0f;
            }
        }
        if (count > 0)
        {
            var inv = 1f / sum;
            for (var i = 0; i < priors.Length; i++)
            {
                priors[i] *= inv;
            }
        }
        return count;
    }
}

/// <summary>The edge into a node: its parent, the action taken there, and the transition's reward and discount.</summary>
internal readonly record struct NodeEdge(int Parent, int Action, float Reward, float Discount);

/// <summary>A <see cref="SearchTree"/> that also keeps each node's embedding, <c>[B, N+1]</c>.</summary>
/// <typeparam name="TEmbedding">The model's state: an environment state, a latent vector handle, ...</typeparam>
public sealed class SearchTree<TEmbedding> : SearchTree
    where TEmbedding : struct
{
    internal readonly TEmbedding[] Embeddings; // [B, N+1]

    /// <inheritdoc cref="SearchTree(int, int, int)"/>
    public SearchTree(int batchSize, int simulations, int actionCount)
        : base(batchSize, simulations, actionCount)
    {
        Embeddings = new TEmbedding[batchSize * Capacity];
    }

    /// <summary>The embedding stored at the node.</summary>
    public ref readonly TEmbedding Embedding(int root, int node) => ref Embeddings[NodeOffset(root, node)];
}
