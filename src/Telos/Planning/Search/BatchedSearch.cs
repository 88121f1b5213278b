using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Telos.Randomness;

namespace Telos.Planning.Search;

/// <summary>
/// Batched Monte-Carlo tree search with mctx's semantics over B independent roots: every
/// simulation descends each root's tree with the policy's selection rule, then calls the
/// <see cref="IRecurrentModel{TEmbedding}"/> once for the whole batch, expands one node per root
/// and backs its value up (values are negated across discount −1 edges in two-player games).
/// All storage is allocated in the constructor; <see cref="Run(in SearchRoot{TEmbedding}, IRecurrentModel{TEmbedding}, ReadOnlySpan{ulong})"/>
/// allocates nothing, so one instance serves many searches (not concurrently).
/// </summary>
/// <remarks>
/// The class is split as mctx's modules are: this file is the search loop (mctx <c>search.py</c>:
/// simulate, expand, backward); <c>BatchedSearch.Selection.cs</c> dispatches to a policy's
/// selection rule; <c>BatchedSearch.Uct.cs</c>, <c>BatchedSearch.Puct.cs</c> and
/// <c>BatchedSearch.Gumbel.cs</c> hold each policy's root noise, selection paths and precomputed
/// state; <c>BatchedSearch.Outputs.cs</c> turns root statistics into the action and policy target
/// (mctx <c>policies.py</c>). The reference scores are <see cref="ActionSelection"/>'s.
/// </remarks>
/// <typeparam name="TEmbedding">The model's per-node state.</typeparam>
public sealed partial class BatchedSearch<TEmbedding>
    where TEmbedding : struct
{
    private readonly SearchTree<TEmbedding> _tree;
    private readonly SearchPolicy _policy;
    private readonly IQTransform _qTransform;
    private readonly int _maxDepth;
    private readonly SearchPolicyKind _kind; // a switch beats a virtual call per node

    private readonly Rng[] _rngs;          // [B] one stream per root
    private readonly float[] _scratchA;    // [A]
    private readonly float[] _scratchB;    // [A]
    private readonly float[] _rootLogits;  // [A]
    private readonly bool[] _allValid;     // [A] all true
    private readonly ulong[] _seeds;       // [B]

    // Model rows of the wave being evaluated and of the next one, compacted over the roots that expand a
    // node: the next wave's rows are built while this wave's are backed up, so two sets alternate.
    private readonly ModelRows _wave;
    private readonly ModelRows _nextWave;

    // Per root, the nodes of the current simulation's path, root first ([B, N+2]); backup walks it
    // instead of chasing parent links, so its loads do not wait on each other.
    private readonly int[] _paths;
    private readonly int[] _leafDepths;    // [B] index in the path of the node to back up from
    private readonly int _pathStride;
    private readonly int _selectionBytes;  // bytes of a node's block that selection reads, from its start

    private const int Lanes = 8;
    private readonly int[] _laneNode = new int[Lanes];
    private readonly int[] _laneDepth = new int[Lanes];
    private readonly int[] _laneAction = new int[Lanes];
    private readonly int[] _actions;       // [B]
    private readonly float[] _weights;     // [B, A]
    private readonly int[] _visits;        // [B, A]
    private readonly float[] _rootValues;  // [B]
    private readonly SearchResult<TEmbedding> _result;

    /// <summary>Allocates a search for up to <paramref name="batchSize"/> roots.</summary>
    /// <param name="batchSize">B, the most roots one call searches.</param>
    /// <param name="actionCount">A.</param>
    /// <param name="simulations">N, simulations per root; root visit counts sum to N.</param>
    /// <param name="policy">Selection rule and its hyperparameters.</param>
    /// <param name="maxDepth">Deepest action index a simulation may take (mctx's max_depth); null = unbounded.</param>
    /// <exception cref="ArgumentException">A size is not positive or a hyperparameter is out of range.</exception>
    public BatchedSearch(int batchSize, int actionCount, int simulations, SearchPolicy policy, int? maxDepth = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        if (maxDepth is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxDepth), maxDepth, "must be at least 1");
        }
        _tree = new SearchTree<TEmbedding>(batchSize, simulations, actionCount);
        _policy = policy;
        _qTransform = policy.QTransform ?? throw new ArgumentException("policy has no Q-transform", nameof(policy));
        _maxDepth = maxDepth ?? int.MaxValue;
        Simulations = simulations;
        var a = actionCount;
        switch (policy)
        {
            case UctPolicy uct:
                _kind = SearchPolicyKind.Uct;
                _uctExploration = uct.Exploration;
                break;
            case PuctPolicy puct:
                _kind = SearchPolicyKind.Puct;
                _puct = new PuctSelection(puct, a, simulations);
                break;
            case GumbelPolicy gumbel:
                _kind = SearchPolicyKind.Gumbel;
                _gumbel = new GumbelSelection(gumbel, batchSize, a, simulations);
                break;
            default:
                throw new ArgumentException($"unknown policy {policy.GetType().Name}", nameof(policy));
        }
        _rngs = new Rng[batchSize];
        _scratchA = new float[a];
        _scratchB = new float[a];
        _rootLogits = new float[a];
        _allValid = new bool[a];
        Array.Fill(_allValid, true);
        _seeds = new ulong[batchSize];
        _wave = new ModelRows(batchSize, a);
        _nextWave = new ModelRows(batchSize, a);
        _pathStride = simulations + 2;
        _paths = new int[batchSize * _pathStride];
        _leafDepths = new int[batchSize];
        // Fused PUCT reads the header and the rows up to the masked priors; other rules may read the whole block.
        _selectionBytes = sizeof(int) * (_puct.Fused ? SearchTree.HeaderSize + (4 * a) : _tree.BlockStride);
        _actions = new int[batchSize];
        _weights = new float[batchSize * a];
        _visits = new int[batchSize * a];
        _rootValues = new float[batchSize];
        _result = new SearchResult<TEmbedding>(this);
    }

    /// <summary>B, the most roots per call.</summary>
    public int BatchSize => _tree.BatchSize;

    /// <summary>A.</summary>
    public int ActionCount => _tree.ActionCount;

    /// <summary>N.</summary>
    public int Simulations { get; }

    /// <summary>The policy this search runs.</summary>
    public SearchPolicy Policy => _policy;

    /// <summary>The trees of the last search (overwritten by the next).</summary>
    public SearchTree<TEmbedding> Tree => _tree;

    internal ReadOnlySpan<int> ActionsOut(int n) => _actions.AsSpan(0, n);

    internal ReadOnlySpan<float> WeightsOut(int n) => _weights.AsSpan(0, n * ActionCount);

    internal ReadOnlySpan<int> VisitsOut(int n) => _visits.AsSpan(0, n * ActionCount);

    internal ReadOnlySpan<float> RootValuesOut(int n) => _rootValues.AsSpan(0, n);

    /// <summary>
    /// Searches with per-root streams derived from one seed: root i uses
    /// <see cref="SearchSeeds.ForRoot"/>(<paramref name="seed"/>, <paramref name="firstRootIndex"/> + i),
    /// so searching roots one at a time with the matching index gives the same results as one batch.
    /// </summary>
    public SearchResult<TEmbedding> Run(in SearchRoot<TEmbedding> root, IRecurrentModel<TEmbedding> model, ulong seed, int firstRootIndex = 0)
    {
        var n = root.Values.Length;
        if (n > BatchSize)
        {
            throw new ArgumentException($"root batch has {n} values; expected 1..{BatchSize}");
        }
        var seeds = _seeds.AsSpan(0, n);
        for (var i = 0; i < n; i++)
        {
            seeds[i] = SearchSeeds.ForRoot(seed, firstRootIndex + i);
        }
        return Run(root, model, seeds);
    }

    /// <summary>
    /// Runs N simulations from each of the n = <c>root.Values.Length</c> ≤ B roots. Root i draws all its
    /// randomness (Dirichlet noise, Gumbel noise, tie breaks, the model's <see cref="RecurrentBatch{TEmbedding}.Random"/>,
    /// the sampled action) from a stream seeded by <paramref name="seeds"/>[i], so results do not depend
    /// on which other roots share the batch. Returns a view valid until the next call.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, or a root has no legal action.</exception>
    public SearchResult<TEmbedding> Run(in SearchRoot<TEmbedding> root, IRecurrentModel<TEmbedding> model, ReadOnlySpan<ulong> seeds)
    {
        ArgumentNullException.ThrowIfNull(model);
        var start = Stopwatch.GetTimestamp();
        var n = root.Values.Length;
        var a = ActionCount;
        if (n < 1 || n > BatchSize)
        {
            throw new ArgumentException($"root batch has {n} values; expected 1..{BatchSize}");
        }
        if (root.PriorLogits.Length != n * a || root.Embeddings.Length != n || seeds.Length != n
            || (!root.ValidActions.IsEmpty && root.ValidActions.Length != n * a))
        {
            throw new ArgumentException(
                $"root shapes: prior logits {root.PriorLogits.Length} (want {n}×{a}), embeddings {root.Embeddings.Length} (want {n}), " +
                $"valid actions {root.ValidActions.Length} (want 0 or {n * a}), seeds {seeds.Length} (want {n})");
        }

        _tree.Reset();
        for (var b = 0; b < n; b++)
        {
            InitializeRoot(b, root, seeds[b]);
        }

        long modelTicks = 0;
        var modelCalls = 0;
        var wave = _wave;
        var next = _nextWave;
        var rows = DescendAll(n, wave);
        for (var simulation = 0; simulation < Simulations; simulation++)
        {
            if (rows > 0)
            {
                wave.ClearOutputs(rows, a);
                var batch = new RecurrentBatch<TEmbedding>(
                    a, wave.Roots.AsSpan(0, rows), wave.Actions.AsSpan(0, rows), wave.Embeddings.AsSpan(0, rows), wave.Rngs.AsSpan(0, rows),
                    wave.Rewards.AsSpan(0, rows), wave.Discounts.AsSpan(0, rows), wave.Logits.AsSpan(0, rows * a), wave.Values.AsSpan(0, rows),
                    wave.Valid.AsSpan(0, rows * a), wave.Next.AsSpan(0, rows));
                var modelStart = Stopwatch.GetTimestamp();
                model.Recurrent(batch);
                modelTicks += Stopwatch.GetTimestamp() - modelStart;
                modelCalls++;
            }

            // Each group of roots backs up this wave, then at once descends for the next simulation,
            // while the paths it just walked are still in cache (the forward pass evicted them once
            // already). Every root still does select → model → expand → backup in the same order,
            // with its own stream, so results equal those of finishing the wave for all roots first.
            var nextRows = 0;
            var row = 0;
            var hasNext = simulation + 1 < Simulations;
            var prefetchRow = 0;
            for (var b = 0; b < n; b += Lanes)
            {
                var lanes = Math.Min(Lanes, n - b);
                // The next group's new nodes go into slots this search has not touched yet: ask for them now.
                for (; prefetchRow < rows && wave.Roots[prefetchRow] < b + (2 * Lanes); prefetchRow++)
                {
                    var prefetchRoot = wave.Roots[prefetchRow];
                    PrefetchBlock(_tree.NodeOffset(prefetchRoot, _tree.Counts[prefetchRoot]), _tree.BlockStride * sizeof(int));
                }
                for (; row < rows && wave.Roots[row] < b + lanes; row++)
                {
                    var rowRoot = wave.Roots[row];
                    _rngs[rowRoot] = wave.Rngs[row];
                    Expand(rowRoot, row, wave);
                    Backward(rowRoot);
                }
                if (hasNext)
                {
                    nextRows = DescendLanes(b, lanes, next, nextRows);
                }
            }
            (wave, next) = (next, wave);
            rows = nextRows;
        }

        _tree.InvalidateChildValues();
        for (var b = 0; b < n; b++)
        {
            Summarize(b);
        }
        var total = Stopwatch.GetTimestamp() - start;
        _result.Set(n, new SearchStatistics(n, Simulations, modelCalls, total / (double)Stopwatch.Frequency, modelTicks / (double)Stopwatch.Frequency));
        return _result;
    }

    private void InitializeRoot(int b, in SearchRoot<TEmbedding> root, ulong seed)
    {
        var a = ActionCount;
        ref var rng = ref _rngs[b];
        rng = new Rng(seed);
        var logits = _rootLogits.AsSpan();
        root.PriorLogits.Slice(b * a, a).CopyTo(logits);
        ReadOnlySpan<bool> valid = root.ValidActions.IsEmpty ? _allValid : root.ValidActions.Slice(b * a, a);
        if (!valid.Contains(true))
        {
            throw new ArgumentException($"root {b} has no legal action");
        }

        switch (_kind)
        {
            case SearchPolicyKind.Puct:
                AddDirichletNoise(ref rng, logits, valid);
                break;
            case SearchPolicyKind.Gumbel:
                DrawGumbelNoise(b, ref rng);
                break;
        }
        _tree.Counts[b] = 1;
        _tree.InitializeNode(b, SearchTree.RootIndex, SearchTree.NoParent, -1, logits, valid, root.Values[b]);
        _tree.VisitsAt(_tree.NodeOffset(b, SearchTree.RootIndex)) = 1;
        _tree.Embeddings[_tree.NodeOffset(b, SearchTree.RootIndex)] = root.Embeddings[b];
    }

    /// <summary>Descends every root for one simulation; returns the rows queued in <paramref name="wave"/>.</summary>
    private int DescendAll(int n, ModelRows wave)
    {
        var rows = 0;
        for (var b = 0; b < n; b += Lanes)
        {
            rows = DescendLanes(b, Math.Min(Lanes, n - b), wave, rows);
        }
        return rows;
    }

    /// <summary>Descends roots b .. b + <paramref name="lanes"/> − 1 and queues their expansions (rows keep root order); returns the new row count.</summary>
    private int DescendLanes(int b, int lanes, ModelRows wave, int rows)
    {
        // Up to eight roots descend in lock-step: their trees are independent, so the CPU overlaps
        // one root's cache misses with the others' selection arithmetic.
        SimulateLanes(b, lanes);
        for (var lane = 0; lane < lanes; lane++)
        {
            rows = AddRow(b + lane, _laneNode[lane], _laneAction[lane], _laneDepth[lane], wave, rows);
        }
        return rows;
    }

    /// <summary>Queues root <paramref name="b"/>'s expansion as model row <paramref name="rows"/>, or backs up a dead end at once; returns the new row count.</summary>
    private int AddRow(int b, int parent, int action, int depth, ModelRows wave, int rows)
    {
        // A dead end's path ends at the node itself (index depth); a new node goes below the parent, also at index depth.
        _leafDepths[b] = depth;
        if (action < 0)
        {
            // The selected node has no legal action (terminal): visit it again, back up its value.
            _tree.VisitsAt(_tree.NodeOffset(b, parent))++;
            Backward(b);
            return rows;
        }
        wave.Roots[rows] = b;
        wave.Parents[rows] = parent;
        wave.Actions[rows] = action;
        wave.Embeddings[rows] = _tree.Embeddings[_tree.NodeOffset(b, parent)];
        wave.Rngs[rows] = _rngs[b];
        return rows + 1;
    }

    /// <summary>
    /// Descends roots b .. b + <paramref name="lanes"/> − 1 from their roots, one level of each in turn;
    /// leaves each lane's node to expand from, action (−1 at a dead end) and depth in
    /// <c>_laneNode</c>/<c>_laneAction</c>/<c>_laneDepth</c>, and each root's path in <c>_paths</c>.
    /// </summary>
    private void SimulateLanes(int b, int lanes)
    {
        var node = _laneNode.AsSpan(0, lanes);
        var depth = _laneDepth.AsSpan(0, lanes);
        var action = _laneAction.AsSpan(0, lanes);
        node.Clear();
        depth.Clear();
        var active = (1 << lanes) - 1; // bit per lane still descending
        while (active != 0)
        {
            for (var lane = 0; lane < lanes; lane++)
            {
                if ((active & (1 << lane)) != 0 && Descend(b + lane, ref node[lane], ref depth[lane], out action[lane]))
                {
                    active &= ~(1 << lane);
                }
            }
        }
    }

    /// <summary>
    /// One level of descent: records <paramref name="node"/> in the path, selects; true when <paramref name="node"/>
    /// is the node to expand from (action −1 at a dead end, where <paramref name="depth"/> stays the node's own depth).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Descend(int b, ref int node, ref int depth, out int action)
    {
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_paths), ((nint)b * _pathStride) + depth) = node;
        action = Select(b, node, depth);
        if (action < 0)
        {
            return true;
        }
        var child = Unsafe.Add(ref _tree.BlockRef(_tree.NodeOffset(b, node)), action);
        depth++;
        if (child == SearchTree.Unvisited || depth >= _maxDepth)
        {
            return true;
        }
        node = child;
        PrefetchBlock(_tree.NodeOffset(b, child), _selectionBytes);
        return false;
    }

    /// <summary>
    /// Asks for the first <paramref name="bytes"/> of node slot <paramref name="n"/>'s block (selection
    /// reads <c>_selectionBytes</c>, expansion writes all of it), so the misses overlap other work
    /// (a prefetch never faults, even on a moved array).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe void PrefetchBlock(int n, int bytes)
    {
        if (!Sse.IsSupported)
        {
            return;
        }
        var start = (byte*)Unsafe.AsPointer(ref Unsafe.Subtract(ref _tree.BlockRef(n), SearchTree.HeaderSize));
        for (var offset = 0; offset < bytes; offset += 64)
        {
            Sse.Prefetch0(start + offset);
        }
        Sse.Prefetch0(start + bytes - 1);
    }

    /// <summary>Stores the model's output for <paramref name="row"/> as a node at the end of the root's path.</summary>
    private void Expand(int b, int row, ModelRows wave)
    {
        var a = ActionCount;
        var parent = wave.Parents[row];
        var action = wave.Actions[row];
        ref var childIndex = ref Unsafe.Add(ref _tree.BlockRef(_tree.NodeOffset(b, parent)), action);
        var node = childIndex;
        var logits = wave.Logits.AsSpan(row * a, a);
        var valid = wave.Valid.AsSpan(row * a, a);
        var value = wave.Values[row];
        if (node == SearchTree.Unvisited)
        {
            node = _tree.Counts[b]++;
            _tree.InitializeNode(b, node, parent, action, logits, valid, value);
            _tree.VisitsAt(_tree.NodeOffset(b, node)) = 1;
        }
        else
        {
            // Re-expansion at max depth (mctx update_tree_node): fresh prior and value, one more visit.
            var n = _tree.NodeOffset(b, node);
            var visits = _tree.VisitsAt(n);
            _tree.InitializeNode(b, node, parent, action, logits, valid, value);
            _tree.VisitsAt(n) = visits + 1;
        }
        childIndex = node;
        _tree.Edges[_tree.NodeOffset(b, node)] = new NodeEdge(parent, action, wave.Rewards[row], wave.Discounts[row]);
        _tree.Embeddings[_tree.NodeOffset(b, node)] = wave.Next[row];
        _paths[(b * _pathStride) + _leafDepths[b]] = node;
    }

    /// <summary>
    /// mctx backward: folds the value of the last node of root <paramref name="b"/>'s path up to the
    /// root through rewards and discounts. The path comes from the descent, so every level's loads
    /// are independent of the previous level's (the edge only supplies reward and discount).
    /// </summary>
    private void Backward(int b)
    {
        var tree = _tree;
        var baseNode = b * tree.Capacity;
        var a = tree.ActionCount;
        var stride = tree.BlockStride;
        ref var path = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_paths), (nint)b * _pathStride);
        ref var edges = ref MemoryMarshal.GetArrayDataReference(tree.Edges);
        // Block of node slot n starts at n·stride: header (visits, value, ...) then child rows.
        ref var blocks = ref MemoryMarshal.GetArrayDataReference(tree.ChildBlocks);
        var depth = _leafDepths[b];
        ref var nodeBlock = ref Unsafe.Add(ref blocks, (nint)(baseNode + Unsafe.Add(ref path, depth)) * stride);
        var nodeValue = Unsafe.As<int, float>(ref Unsafe.Add(ref nodeBlock, 1));
        var leafValue = nodeValue;
        for (; depth > 0; depth--)
        {
            // Indices come from the tree itself, so they are in range; skip the bounds checks.
            var edge = Unsafe.Add(ref edges, baseNode + Unsafe.Add(ref path, depth));
            var parent = Unsafe.Add(ref path, depth - 1);
            Debug.Assert(edge.Parent == parent, "the path follows the tree's edges");
            ref var parentBlock = ref Unsafe.Add(ref blocks, (nint)(baseNode + parent) * stride);
            ref var count = ref parentBlock;
            ref var parentValue = ref Unsafe.As<int, float>(ref Unsafe.Add(ref parentBlock, 1));
            leafValue = edge.Reward + edge.Discount * leafValue;
            parentValue = (parentValue * count + leafValue) / (count + 1);
            count++;
            ref var child = ref Unsafe.Add(ref parentBlock, SearchTree.HeaderSize + edge.Action);
            Unsafe.As<int, float>(ref Unsafe.Add(ref child, 2 * a)) = edge.Reward + edge.Discount * nodeValue;
            Unsafe.Add(ref child, a)++;
            nodeValue = parentValue;
        }
    }

    /// <summary>The model rows of one wave: inputs the search fills, outputs the model fills (see <see cref="RecurrentBatch{TEmbedding}"/>).</summary>
    private sealed class ModelRows(int batchSize, int actionCount)
    {
        public readonly int[] Roots = new int[batchSize];
        public readonly int[] Parents = new int[batchSize];
        public readonly int[] Actions = new int[batchSize];
        public readonly TEmbedding[] Embeddings = new TEmbedding[batchSize];
        public readonly Rng[] Rngs = new Rng[batchSize];
        public readonly float[] Rewards = new float[batchSize];
        public readonly float[] Discounts = new float[batchSize];
        public readonly float[] Logits = new float[batchSize * actionCount];
        public readonly float[] Values = new float[batchSize];
        public readonly bool[] Valid = new bool[batchSize * actionCount];
        public readonly TEmbedding[] Next = new TEmbedding[batchSize];

        /// <summary>The defaults the model overwrites: reward 0, discount 1, logits 0, value 0, all legal.</summary>
        public void ClearOutputs(int rows, int a)
        {
            Rewards.AsSpan(0, rows).Clear();
            Discounts.AsSpan(0, rows).Fill(1f);
            Logits.AsSpan(0, rows * a).Clear();
            Values.AsSpan(0, rows).Clear();
            Valid.AsSpan(0, rows * a).Fill(true);
        }
    }
}

/// <summary>Which selection rule and outputs a <see cref="BatchedSearch{TEmbedding}"/> runs, one per <see cref="SearchPolicy"/> type.</summary>
internal enum SearchPolicyKind
{
    /// <summary><see cref="UctPolicy"/>.</summary>
    Uct,

    /// <summary><see cref="PuctPolicy"/>.</summary>
    Puct,

    /// <summary><see cref="GumbelPolicy"/>.</summary>
    Gumbel,
}
