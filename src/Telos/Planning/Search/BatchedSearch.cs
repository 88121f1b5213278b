using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
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
/// <typeparam name="TEmbedding">The model's per-node state.</typeparam>
public sealed class BatchedSearch<TEmbedding>
    where TEmbedding : struct
{
    // mctx's low_logit in seq_halving.score_considered.
    private const float LowLogit = -1e9f;

    private readonly SearchTree<TEmbedding> _tree;
    private readonly SearchPolicy _policy;
    private readonly IQTransform _qTransform;
    private readonly int _maxDepth;
    private readonly int _kind; // 0 uct, 1 puct, 2 gumbel: a switch beats a virtual call per node
    private readonly int[]? _halvingTable;
    private readonly int _maxConsidered;
    // PUCT with MuZero's default transform runs a fused loop; other transforms go through the interface.
    private readonly float _fusedEpsilon = float.NaN;
    // Gumbel interior selection with the completed-by-mix transform runs without the interface call and bounds checks.
    private readonly CompletedByMixValueQTransform? _fusedCompleted;
    // A ≤ 16 with 512-bit vectors: fused PUCT handles a node's actions in one vector, lanes ≥ A masked off.
    private readonly bool _oneVector;
    private readonly Vector512<int> _actionLanes; // −1 in lanes < A, 0 beyond
    private readonly float[] _exploreByVisits = []; // [N+2] √N·(pb_c_init + ln((N + pb_c_base + 1)/pb_c_base)) by node visits N

    private readonly Rng[] _rngs;          // [B] one stream per root
    private readonly float[] _gumbel;      // [B, A]
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
        switch (policy)
        {
            case UctPolicy:
                _kind = 0;
                break;
            case PuctPolicy:
                _kind = 1;
                if (policy.QTransform is ParentAndSiblingsQTransform parentAndSiblings)
                {
                    _fusedEpsilon = parentAndSiblings.Epsilon;
                    _oneVector = Vector512.IsHardwareAccelerated && actionCount <= Vector512<int>.Count;
                    _actionLanes = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(actionCount));
                    var puct = (PuctPolicy)policy;
                    // A node is visited at most N + 1 times; the table spares a log and a sqrt per step.
                    _exploreByVisits = new float[simulations + 2];
                    for (var visits = 0; visits < _exploreByVisits.Length; visits++)
                    {
                        float nv = visits;
                        _exploreByVisits[visits] = MathF.Sqrt(nv) * (puct.PbCInit + MathF.Log((nv + puct.PbCBase + 1f) / puct.PbCBase));
                    }
                }
                break;
            case GumbelPolicy gumbel:
                _kind = 2;
                _maxConsidered = Math.Min(gumbel.MaxConsideredActions, actionCount);
                _halvingTable = SequentialHalving.Table(_maxConsidered, simulations);
                _fusedCompleted = policy.QTransform as CompletedByMixValueQTransform;
                break;
            default:
                throw new ArgumentException($"unknown policy {policy.GetType().Name}", nameof(policy));
        }
        var a = actionCount;
        _rngs = new Rng[batchSize];
        _gumbel = new float[batchSize * a];
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
        _selectionBytes = sizeof(int) * (_kind == 1 && !float.IsNaN(_fusedEpsilon) ? SearchTree.HeaderSize + (4 * a) : _tree.BlockStride);
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

        if (_policy is PuctPolicy { DirichletFraction: > 0 } puct)
        {
            // mctx: noisy = (1 − f)·softmax(logits) + f·Dirichlet(α); logits = log(noisy).
            var probs = _scratchA.AsSpan();
            var noise = _scratchB.AsSpan();
            SearchTree.StorePrior(noise, probs, logits, valid);
            Dirichlet.Sample(ref rng, puct.DirichletAlpha, noise);
            var f = puct.DirichletFraction;
            for (var i = 0; i < a; i++)
            {
                logits[i] = MathF.Log(MathF.Max((1f - f) * probs[i] + f * noise[i], float.Epsilon));
            }
        }
        else if (_policy is GumbelPolicy gumbelPolicy)
        {
            var g = _gumbel.AsSpan(b * a, a);
            for (var i = 0; i < a; i++)
            {
                g[i] = gumbelPolicy.GumbelScale * (float)rng.NextGumbel();
            }
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

    private int Select(int b, int node, int depth)
    {
        if (_kind == 1 && !float.IsNaN(_fusedEpsilon))
        {
            // Both check for no legal action themselves, after the row is loaded.
            return _oneVector ? SelectPuctOneVector(b, node) : SelectPuctFused(b, node);
        }
        if (_tree.ValidCountAt(_tree.NodeOffset(b, node)) == 0)
        {
            return -1;
        }
        return _kind switch
        {
            0 => SelectUct(b, node),
            1 => SelectPuct(b, node),
            _ => depth == 0 ? SelectGumbelRoot(b)
                : _fusedCompleted is null ? SelectGumbelInterior(b, node) : SelectGumbelInteriorFused(b, node),
        };
    }

    private int SelectUct(int b, int node)
    {
        var a = ActionCount;
        var o = _tree.NodeOffset(b, node);
        var visits = _tree.VisitRow(_tree.NodeOffset(b, node));
        var valid = _tree.ValidRow(o);
        var q = _scratchA.AsSpan();
        var scores = _scratchB.AsSpan();
        _qTransform.Transform(_tree, b, node, q);
        var logN = MathF.Log(_tree.VisitsAt(_tree.NodeOffset(b, node)));
        var c = ((UctPolicy)_policy).Exploration;
        var best = float.NegativeInfinity;
        for (var i = 0; i < a; i++)
        {
            // Unvisited actions come first, in random order.
            var score = !valid[i] ? float.NegativeInfinity
                : visits[i] == 0 ? float.PositiveInfinity
                : q[i] + c * MathF.Sqrt(logN / visits[i]);
            scores[i] = score;
            best = MathF.Max(best, score);
        }
        return ArgmaxWithTies(ref MemoryMarshal.GetReference(scores), a, best, ref _rngs[b]);
    }

    /// <summary>
    /// PUCT with the parent-and-siblings transform, vectorised over actions (8 floats a step, scalar
    /// tail): the same arithmetic as <see cref="ParentAndSiblingsQTransform"/> then <see cref="SelectPuct"/>,
    /// with exact ties among the maxima broken uniformly by one draw.
    /// </summary>
    private int SelectPuctFused(int b, int node)
    {
        var tree = _tree;
        var a = tree.ActionCount;
        var n = tree.NodeOffset(b, node);
        ref var block = ref tree.BlockRef(n);
        ref var visits = ref Unsafe.Add(ref block, a);
        ref var qValues = ref Unsafe.As<int, float>(ref Unsafe.Add(ref block, 2 * a));
        ref var priors = ref Unsafe.As<int, float>(ref Unsafe.Add(ref block, 3 * a));
        ref var scores = ref MemoryMarshal.GetArrayDataReference(_scratchB);
        var nodeValue = tree.ValueAt(n);
        var explore = _exploreByVisits[tree.VisitsAt(n)];
        var vectorEnd = Vector256.IsHardwareAccelerated ? a - a % Vector256<float>.Count : 0;
        var wideEnd = Vector512.IsHardwareAccelerated ? a - a % Vector512<float>.Count : 0;

        // Pass 1: Q = r + γ·v, and the min/max over the parent value and the visited children.
        var min = nodeValue;
        var max = nodeValue;
        var i = 0;
        if (wideEnd > 0)
        {
            // Sixteen actions a step where the CPU has 512-bit vectors: min/max are exact in any order,
            // and the scores are the same per-lane operations, so the numbers equal the narrower paths'.
            var nodeValueW = Vector512.Create(nodeValue);
            var minW = nodeValueW;
            var maxW = nodeValueW;
            for (; i < wideEnd; i += Vector512<float>.Count)
            {
                var qv = Vector512.LoadUnsafe(ref qValues, (nuint)i);
                var visited = Vector512.GreaterThan(Vector512.LoadUnsafe(ref visits, (nuint)i), Vector512<int>.Zero).AsSingle();
                var safe = Vector512.ConditionalSelect(visited, qv, nodeValueW);
                minW = Vector512.MinNative(minW, safe);
                maxW = Vector512.MaxNative(maxW, safe);
            }
            min = MathF.Min(min, HorizontalMin(Vector256.MinNative(minW.GetLower(), minW.GetUpper())));
            max = MathF.Max(max, HorizontalMax(Vector256.MaxNative(maxW.GetLower(), maxW.GetUpper())));
        }
        if (vectorEnd > i)
        {
            var nodeValueV = Vector256.Create(nodeValue);
            var minV = nodeValueV;
            var maxV = nodeValueV;
            for (; i < vectorEnd; i += Vector256<float>.Count)
            {
                var qv = Vector256.LoadUnsafe(ref qValues, (nuint)i);
                var visited = Vector256.GreaterThan(Vector256.LoadUnsafe(ref visits, (nuint)i), Vector256<int>.Zero).AsSingle();
                var safe = Vector256.ConditionalSelect(visited, qv, nodeValueV);
                minV = Vector256.MinNative(minV, safe);
                maxV = Vector256.MaxNative(maxV, safe);
            }
            min = MathF.Min(min, HorizontalMin(minV));
            max = MathF.Max(max, HorizontalMax(maxV));
        }
        for (; i < a; i++)
        {
            var qi = Unsafe.Add(ref qValues, i);
            if (Unsafe.Add(ref visits, i) > 0)
            {
                min = MathF.Min(min, qi);
                max = MathF.Max(max, qi);
            }
        }

        // Pass 2: score = Q̃ + √N·c(N)·P/(1 + n), −∞ when illegal; track the maximum.
        var scale = 1f / MathF.Max(max - min, _fusedEpsilon);
        var best = float.NegativeInfinity;
        i = 0;
        if (wideEnd > 0)
        {
            var minW = Vector512.Create(min);
            var scaleW = Vector512.Create(scale);
            var exploreW = Vector512.Create(explore);
            var bestW = Vector512.Create(float.NegativeInfinity);
            for (; i < wideEnd; i += Vector512<float>.Count)
            {
                var visitCounts = Vector512.LoadUnsafe(ref visits, (nuint)i);
                var visited = Vector512.GreaterThan(visitCounts, Vector512<int>.Zero).AsSingle();
                var valueScore = (Vector512.LoadUnsafe(ref qValues, (nuint)i) - minW) * scaleW & visited;
                var policyScore = exploreW * Vector512.LoadUnsafe(ref priors, (nuint)i) / (Vector512.ConvertToSingle(visitCounts) + Vector512<float>.One);
                var score = valueScore + policyScore;
                score.StoreUnsafe(ref scores, (nuint)i);
                bestW = Vector512.MaxNative(bestW, score);
            }
            best = HorizontalMax(Vector256.MaxNative(bestW.GetLower(), bestW.GetUpper()));
        }
        if (vectorEnd > i)
        {
            var minV = Vector256.Create(min);
            var scaleV = Vector256.Create(scale);
            var exploreV = Vector256.Create(explore);
            var bestV = Vector256.Create(float.NegativeInfinity);
            for (; i < vectorEnd; i += Vector256<float>.Count)
            {
                var visitCounts = Vector256.LoadUnsafe(ref visits, (nuint)i);
                var visited = Vector256.GreaterThan(visitCounts, Vector256<int>.Zero).AsSingle();
                var valueScore = (Vector256.LoadUnsafe(ref qValues, (nuint)i) - minV) * scaleV & visited;
                var policyScore = exploreV * Vector256.LoadUnsafe(ref priors, (nuint)i) / (Vector256.ConvertToSingle(visitCounts) + Vector256<float>.One);
                var score = valueScore + policyScore;
                score.StoreUnsafe(ref scores, (nuint)i);
                bestV = Vector256.MaxNative(bestV, score);
            }
            best = MathF.Max(best, HorizontalMax(bestV));
        }
        for (; i < a; i++)
        {
            var v = Unsafe.Add(ref visits, i);
            var valueScore = v > 0 ? (Unsafe.Add(ref qValues, i) - min) * scale : 0f;
            var score = valueScore + explore * Unsafe.Add(ref priors, i) / (v + 1);
            Unsafe.Add(ref scores, i) = score;
            best = MathF.Max(best, score);
        }
        // All scores are −∞ only when no action is legal (explore > 0 keeps legal scores finite).
        if (best == float.NegativeInfinity && tree.ValidCountAt(n) == 0)
        {
            return -1;
        }
        return ArgmaxWithTies(ref scores, a, best, ref _rngs[b]);
    }

    /// <summary>
    /// <see cref="SelectPuctFused"/> for A ≤ 16 on 512-bit vectors: every row of the node is one load
    /// (lanes past A read the node's later rows, the next node's block or the tree's end slack, and are
    /// masked off), with no loop and no score buffer. The operations per action and the tie-break draw are those of the other paths, so
    /// the chosen action is the same.
    /// </summary>
    private int SelectPuctOneVector(int b, int node)
    {
        var tree = _tree;
        var a = tree.ActionCount;
        var n = tree.NodeOffset(b, node);
        ref var block = ref tree.BlockRef(n);
        ref var header = ref Unsafe.Subtract(ref block, SearchTree.HeaderSize);
        var nodeValue = Unsafe.As<int, float>(ref Unsafe.Add(ref header, 1));
        // Node visits are at most N + 1, the table's last index.
        var explore = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_exploreByVisits), header);
        var visitCounts = Vector512.LoadUnsafe(ref Unsafe.Add(ref block, a));
        var qv = Vector512.LoadUnsafe(ref Unsafe.As<int, float>(ref Unsafe.Add(ref block, 2 * a)));
        var priors = Vector512.LoadUnsafe(ref Unsafe.As<int, float>(ref Unsafe.Add(ref block, 3 * a)));
        var inRange = _actionLanes.AsSingle();

        // Pass 1: min/max over the parent value and the visited children (lanes ≥ A hold the parent value).
        var nodeValueW = Vector512.Create(nodeValue);
        var visited = Vector512.GreaterThan(visitCounts, Vector512<int>.Zero).AsSingle() & inRange;
        var safe = Vector512.ConditionalSelect(visited, qv, nodeValueW);
        var minW = Vector512.MinNative(nodeValueW, safe);
        var maxW = Vector512.MaxNative(nodeValueW, safe);
        var min = MathF.Min(nodeValue, HorizontalMin(Vector256.MinNative(minW.GetLower(), minW.GetUpper())));
        var max = MathF.Max(nodeValue, HorizontalMax(Vector256.MaxNative(maxW.GetLower(), maxW.GetUpper())));

        // Pass 2: score = Q̃ + √N·c(N)·P/(1 + n), −∞ when illegal and in lanes ≥ A.
        var scale = 1f / MathF.Max(max - min, _fusedEpsilon);
        var valueScore = (qv - Vector512.Create(min)) * Vector512.Create(scale) & visited;
        var policyScore = Vector512.Create(explore) * priors / (Vector512.ConvertToSingle(visitCounts) + Vector512<float>.One);
        var negativeInfinity = Vector512.Create(float.NegativeInfinity);
        var score = Vector512.ConditionalSelect(inRange, valueScore + policyScore, negativeInfinity);
        var bestW = Vector512.MaxNative(negativeInfinity, score);
        var best = HorizontalMax(Vector256.MaxNative(bestW.GetLower(), bestW.GetUpper()));
        if (best == float.NegativeInfinity && Unsafe.Add(ref header, 3) == 0)
        {
            return -1;
        }

        // Exact maxima among the A actions; several are chosen between uniformly with one draw, as in ArgmaxWithTies.
        var ties = (uint)Vector512.Equals(score, Vector512.Create(best)).ExtractMostSignificantBits() & (uint)((1L << a) - 1);
        var count = BitOperations.PopCount(ties);
        if (count > 1)
        {
            for (var pick = _rngs[b].NextInt(count); pick > 0; pick--)
            {
                ties &= ties - 1;
            }
        }
        return ties == 0 ? -1 : BitOperations.TrailingZeroCount(ties);
    }

    private static float HorizontalMin(Vector256<float> v)
    {
        var h = Vector128.MinNative(v.GetLower(), v.GetUpper());
        h = Vector128.MinNative(h, Vector128.Shuffle(h, Vector128.Create(2, 3, 0, 1)));
        return MathF.Min(h.GetElement(0), h.GetElement(1));
    }

    private static float HorizontalMax(Vector256<float> v)
    {
        var h = Vector128.MaxNative(v.GetLower(), v.GetUpper());
        h = Vector128.MaxNative(h, Vector128.Shuffle(h, Vector128.Create(2, 3, 0, 1)));
        return MathF.Max(h.GetElement(0), h.GetElement(1));
    }

    /// <summary>
    /// The index of <paramref name="best"/> in scores[0..a); several exact maxima are chosen between
    /// uniformly with one draw. mctx adds 1e-7·U noise to every score for the same purpose; drawing
    /// only on ties keeps the random stream off the hot path and differs only for scores closer than 1e-7.
    /// </summary>
    private static int ArgmaxWithTies(ref float scores, int a, float best, ref Rng rng)
    {
        var first = -1;
        var ties = 0;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var bestW = Vector512.Create(best);
            for (; i + Vector512<float>.Count <= a; i += Vector512<float>.Count)
            {
                var mask = Vector512.Equals(Vector512.LoadUnsafe(ref scores, (nuint)i), bestW).ExtractMostSignificantBits();
                if (mask != 0)
                {
                    if (ties == 0)
                    {
                        first = i + BitOperations.TrailingZeroCount(mask);
                    }
                    ties += BitOperations.PopCount(mask);
                }
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            // Eight compares a step; the mask's bits give the first tie and their count.
            var bestV = Vector256.Create(best);
            for (; i + Vector256<float>.Count <= a; i += Vector256<float>.Count)
            {
                var mask = Vector256.Equals(Vector256.LoadUnsafe(ref scores, (nuint)i), bestV).ExtractMostSignificantBits();
                if (mask != 0)
                {
                    if (ties == 0)
                    {
                        first = i + BitOperations.TrailingZeroCount(mask);
                    }
                    ties += BitOperations.PopCount(mask);
                }
            }
        }
        for (; i < a; i++)
        {
            if (Unsafe.Add(ref scores, i) == best)
            {
                if (ties++ == 0)
                {
                    first = i;
                }
            }
        }
        if (ties <= 1)
        {
            return first;
        }
        var pick = rng.NextInt(ties);
        for (var j = first; j < a; j++)
        {
            if (Unsafe.Add(ref scores, j) == best && pick-- == 0)
            {
                return j;
            }
        }
        return first;
    }

    /// <summary>PUCT through any <see cref="IQTransform"/>; the fused path computes the same numbers.</summary>
    private int SelectPuct(int b, int node)
    {
        var a = ActionCount;
        var visits = _tree.VisitRow(_tree.NodeOffset(b, node));
        // Masked priors: −∞ on illegal actions, and explore > 0 keeps them at −∞.
        var priors = _tree.PriorScoreRow(_tree.NodeOffset(b, node));
        var q = _scratchA.AsSpan();
        var scores = _scratchB.AsSpan();
        _qTransform.Transform(_tree, b, node, q);
        var policy = (PuctPolicy)_policy;
        float nodeVisits = _tree.VisitsAt(_tree.NodeOffset(b, node));
        var explore = MathF.Sqrt(nodeVisits) * (policy.PbCInit + MathF.Log((nodeVisits + policy.PbCBase + 1f) / policy.PbCBase));
        var best = float.NegativeInfinity;
        for (var i = 0; i < a; i++)
        {
            var score = q[i] + explore * priors[i] / (visits[i] + 1);
            scores[i] = score;
            best = MathF.Max(best, score);
        }
        return ArgmaxWithTies(ref MemoryMarshal.GetReference(scores), a, best, ref _rngs[b]);
    }

    private int SelectGumbelRoot(int b)
    {
        var a = ActionCount;
        var visits = _tree.VisitRow(_tree.NodeOffset(b, SearchTree.RootIndex));
        var q = _scratchA.AsSpan();
        _qTransform.Transform(_tree, b, SearchTree.RootIndex, q);
        var simulationIndex = 0;
        for (var i = 0; i < a; i++)
        {
            simulationIndex += visits[i];
        }
        var considered = Math.Min(_maxConsidered, _tree.ValidCountAt(_tree.NodeOffset(b, SearchTree.RootIndex)));
        var consideredVisit = _halvingTable![considered * Simulations + Math.Min(simulationIndex, Simulations - 1)];
        return ArgmaxConsidered(b, consideredVisit, q);
    }

    /// <summary>mctx seq_halving.score_considered + masked argmax: only actions with the considered visit count compete.</summary>
    private int ArgmaxConsidered(int b, int consideredVisit, ReadOnlySpan<float> completedQ)
    {
        var a = ActionCount;
        var o = _tree.NodeOffset(b, SearchTree.RootIndex);
        var visits = _tree.VisitRow(_tree.NodeOffset(b, SearchTree.RootIndex));
        var logits = _tree.LogitRow(o);
        var valid = _tree.ValidRow(o);
        var gumbel = _gumbel.AsSpan(b * a, a);
        var best = float.NegativeInfinity;
        var bestAction = -1;
        var fallback = -1;
        for (var i = 0; i < a; i++)
        {
            if (!valid[i])
            {
                continue;
            }
            if (fallback < 0)
            {
                fallback = i;
            }
            if (visits[i] != consideredVisit)
            {
                continue;
            }
            var score = MathF.Max(LowLogit, gumbel[i] + logits[i] + completedQ[i]);
            if (score > best)
            {
                best = score;
                bestAction = i;
            }
        }
        // Unreachable with mctx's schedule; mctx's argmax would return the first action.
        return bestAction >= 0 ? bestAction : fallback;
    }

    /// <summary>
    /// <see cref="SelectGumbelInterior"/> with <see cref="CompletedByMixValueQTransform"/> inlined:
    /// the same operations in the same order (a test checks equal results), without bounds checks.
    /// </summary>
    private int SelectGumbelInteriorFused(int b, int node)
    {
        var tree = _tree;
        var transform = _fusedCompleted!;
        var a = tree.ActionCount;
        var n = tree.NodeOffset(b, node);
        ref var block = ref tree.BlockRef(n);
        ref var visits = ref Unsafe.Add(ref block, a);
        ref var qValues = ref Unsafe.As<int, float>(ref Unsafe.Add(ref block, 2 * a));
        ref var priors = ref Unsafe.As<int, float>(ref Unsafe.Add(ref block, 5 * a));
        ref var logits = ref Unsafe.As<int, float>(ref Unsafe.Add(ref block, 4 * a));
        ref var valid = ref Unsafe.As<int, bool>(ref Unsafe.Add(ref block, 6 * a));
        ref var q = ref MemoryMarshal.GetArrayDataReference(_scratchA);

        var visitSum = 0;
        var maxVisit = 0;
        var visitedProbability = 0f;
        var weightedQ = 0f;
        for (var i = 0; i < a; i++)
        {
            var v = Unsafe.Add(ref visits, i);
            if (v > 0)
            {
                var qi = Unsafe.Add(ref qValues, i);
                Unsafe.Add(ref q, i) = qi;
                visitSum += v;
                maxVisit = Math.Max(maxVisit, v);
                var p = MathF.Max(Unsafe.Add(ref priors, i), CompletedByMixValueQTransform.SmallestNormal);
                visitedProbability += p;
                weightedQ += p * qi;
            }
        }
        var rawValue = tree.RawValueAt(n);
        var mixed = rawValue;
        if (transform.UseMixedValue && visitSum > 0)
        {
            mixed = (rawValue + visitSum * (weightedQ / visitedProbability)) / (visitSum + 1);
        }
        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        for (var i = 0; i < a; i++)
        {
            ref var qi = ref Unsafe.Add(ref q, i);
            if (Unsafe.Add(ref visits, i) == 0)
            {
                qi = mixed;
            }
            if (Unsafe.Add(ref valid, i))
            {
                min = MathF.Min(min, qi);
                max = MathF.Max(max, qi);
            }
        }
        var sigma = (transform.MaxVisitInit + maxVisit) * transform.ValueScale;
        var rescale = transform.RescaleValues && min <= max;
        var scale = rescale ? sigma / MathF.Max(max - min, transform.Epsilon) : sigma;
        var shift = rescale ? min : 0f;

        // π' = softmax(logits + σ(completed Q)) over valid actions; argmax π'(a) − n(a)/(1 + Σn).
        var top = float.NegativeInfinity;
        for (var i = 0; i < a; i++)
        {
            ref var qi = ref Unsafe.Add(ref q, i);
            qi = rescale ? (qi - shift) * scale : qi * scale;
            if (Unsafe.Add(ref valid, i))
            {
                qi += Unsafe.Add(ref logits, i);
                top = MathF.Max(top, qi);
            }
        }
        var sum = 0f;
        for (var i = 0; i < a; i++)
        {
            if (Unsafe.Add(ref valid, i))
            {
                ref var qi = ref Unsafe.Add(ref q, i);
                qi = MathF.Exp(qi - top);
                sum += qi;
            }
        }
        var invSum = 1f / sum;
        var invVisits = 1f / (1 + visitSum);
        var best = float.NegativeInfinity;
        var bestAction = -1;
        for (var i = 0; i < a; i++)
        {
            if (!Unsafe.Add(ref valid, i))
            {
                continue;
            }
            var score = Unsafe.Add(ref q, i) * invSum - Unsafe.Add(ref visits, i) * invVisits;
            if (score > best)
            {
                best = score;
                bestAction = i;
            }
        }
        return bestAction;
    }

    private int SelectGumbelInterior(int b, int node)
    {
        var a = ActionCount;
        var o = _tree.NodeOffset(b, node);
        var visits = _tree.VisitRow(_tree.NodeOffset(b, node));
        var logits = _tree.LogitRow(o);
        var valid = _tree.ValidRow(o);
        var q = _scratchA.AsSpan();
        _qTransform.Transform(_tree, b, node, q);
        // π' = softmax(logits + completed Q) over valid actions; argmax π'(a) − n(a)/(1 + Σn).
        var max = float.NegativeInfinity;
        var visitSum = 0;
        for (var i = 0; i < a; i++)
        {
            if (valid[i])
            {
                q[i] += logits[i];
                max = MathF.Max(max, q[i]);
            }
            visitSum += visits[i];
        }
        var sum = 0f;
        for (var i = 0; i < a; i++)
        {
            if (valid[i])
            {
                q[i] = MathF.Exp(q[i] - max);
                sum += q[i];
            }
        }
        var invSum = 1f / sum;
        var invVisits = 1f / (1 + visitSum);
        var best = float.NegativeInfinity;
        var bestAction = -1;
        for (var i = 0; i < a; i++)
        {
            if (!valid[i])
            {
                continue;
            }
            var score = q[i] * invSum - visits[i] * invVisits;
            if (score > best)
            {
                best = score;
                bestAction = i;
            }
        }
        return bestAction;
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

    private void Summarize(int b)
    {
        var a = ActionCount;
        var o = _tree.NodeOffset(b, SearchTree.RootIndex);
        var visits = _tree.VisitRow(_tree.NodeOffset(b, SearchTree.RootIndex));
        var valid = _tree.ValidRow(o);
        var weights = _weights.AsSpan(b * a, a);
        visits.CopyTo(_visits.AsSpan(b * a, a));
        _rootValues[b] = _tree.ValueAt(_tree.NodeOffset(b, SearchTree.RootIndex));
        ref var rng = ref _rngs[b];

        if (_kind == 2)
        {
            var q = _scratchA.AsSpan();
            _qTransform.Transform(_tree, b, SearchTree.RootIndex, q);
            var maxVisit = 0;
            for (var i = 0; i < a; i++)
            {
                maxVisit = Math.Max(maxVisit, visits[i]);
            }
            _actions[b] = ArgmaxConsidered(b, maxVisit, q);
            // Policy target: softmax(logits + σ(completed Q)) over legal actions.
            var logits = _tree.LogitRow(o);
            var max = float.NegativeInfinity;
            for (var i = 0; i < a; i++)
            {
                if (valid[i])
                {
                    max = MathF.Max(max, logits[i] + q[i]);
                }
            }
            var sum = 0f;
            for (var i = 0; i < a; i++)
            {
                weights[i] = valid[i] ? MathF.Exp(logits[i] + q[i] - max) : 0f;
                sum += weights[i];
            }
            for (var i = 0; i < a; i++)
            {
                weights[i] /= sum;
            }
            return;
        }

        var total = 0;
        var mostVisited = -1;
        for (var i = 0; i < a; i++)
        {
            total += visits[i];
            if (valid[i] && (mostVisited < 0 || visits[i] > visits[mostVisited]))
            {
                mostVisited = i;
            }
        }
        for (var i = 0; i < a; i++)
        {
            weights[i] = total > 0 ? visits[i] / (float)total : 0f;
        }
        var temperature = _policy is PuctPolicy puct ? puct.Temperature : ((UctPolicy)_policy).Temperature;
        _actions[b] = temperature == 0 || total == 0 ? mostVisited : SampleVisits(ref rng, visits, valid, temperature, mostVisited);
    }

    /// <summary>Samples a ∝ N(a)^(1/T) over legal visited actions.</summary>
    private int SampleVisits(ref Rng rng, ReadOnlySpan<int> visits, ReadOnlySpan<bool> valid, float temperature, int mostVisited)
    {
        var p = _scratchB.AsSpan();
        var maxLog = MathF.Log(visits[mostVisited]);
        var sum = 0.0;
        for (var i = 0; i < p.Length; i++)
        {
            p[i] = valid[i] && visits[i] > 0 ? MathF.Exp((MathF.Log(visits[i]) - maxLog) / temperature) : 0f;
            sum += p[i];
        }
        var u = rng.NextDouble() * sum;
        var last = mostVisited;
        for (var i = 0; i < p.Length; i++)
        {
            if (p[i] <= 0)
            {
                continue;
            }
            last = i;
            u -= p[i];
            if (u < 0)
            {
                return i;
            }
        }
        return last;
    }
}

/// <summary>Time spent by one search call.</summary>
/// <param name="Roots">n, roots searched.</param>
/// <param name="Simulations">N per root.</param>
/// <param name="ModelCalls">Batched model calls (≤ N).</param>
/// <param name="TotalSeconds">Wall time of the whole call.</param>
/// <param name="ModelSeconds">Wall time inside the model (leaf evaluation).</param>
public readonly record struct SearchStatistics(int Roots, int Simulations, int ModelCalls, double TotalSeconds, double ModelSeconds)
{
    /// <summary>Share of the time spent in leaf evaluation, in [0, 1].</summary>
    public double EvalFraction => TotalSeconds > 0 ? ModelSeconds / TotalSeconds : 0;

    /// <summary>Simulations per second over all roots: n·N / total time.</summary>
    public double SimulationsPerSecond => TotalSeconds > 0 ? (double)Roots * Simulations / TotalSeconds : 0;
}

/// <summary>
/// What a search returns, as views into the search's own buffers (valid until its next run):
/// chosen action <c>[n]</c>, root visit counts <c>[n, A]</c>, action weights / policy target <c>[n, A]</c>,
/// root values <c>[n]</c>, the trees and timings.
/// </summary>
public sealed class SearchResult<TEmbedding>
    where TEmbedding : struct
{
    private readonly BatchedSearch<TEmbedding> _search;
    private int _count;

    internal SearchResult(BatchedSearch<TEmbedding> search)
    {
        _search = search;
    }

    /// <summary>n, the roots of the last search.</summary>
    public int Count => _count;

    /// <summary>A.</summary>
    public int ActionCount => _search.ActionCount;

    /// <summary><c>[n]</c>: the action to take at each root (always legal).</summary>
    public ReadOnlySpan<int> Actions => _search.ActionsOut(_count);

    /// <summary><c>[n, A]</c>: root visit counts; each row sums to N.</summary>
    public ReadOnlySpan<int> VisitCounts => _search.VisitsOut(_count);

    /// <summary><c>[n, A]</c>: the policy target (visit distribution for UCT/PUCT, softmax(logits + σ(completed Q)) for Gumbel); 0 on illegal actions.</summary>
    public ReadOnlySpan<float> ActionWeights => _search.WeightsOut(_count);

    /// <summary><c>[n]</c>: the root's backed-up value.</summary>
    public ReadOnlySpan<float> RootValues => _search.RootValuesOut(_count);

    /// <summary>The search trees (overwritten by the next search).</summary>
    public SearchTree<TEmbedding> Tree => _search.Tree;

    /// <summary>Timings of the last search.</summary>
    public SearchStatistics Statistics { get; private set; }

    /// <summary>Row <paramref name="root"/> of <see cref="VisitCounts"/>.</summary>
    public ReadOnlySpan<int> VisitCountsOf(int root) => VisitCounts.Slice(root * ActionCount, ActionCount);

    /// <summary>Row <paramref name="root"/> of <see cref="ActionWeights"/>.</summary>
    public ReadOnlySpan<float> ActionWeightsOf(int root) => ActionWeights.Slice(root * ActionCount, ActionCount);

    internal void Set(int count, SearchStatistics statistics)
    {
        _count = count;
        Statistics = statistics;
    }
}

/// <summary>Per-root seeds derived from one search seed.</summary>
public static class SearchSeeds
{
    /// <summary>The seed of root <paramref name="rootIndex"/> under <paramref name="seed"/>: a pure function of both.</summary>
    public static ulong ForRoot(ulong seed, int rootIndex)
    {
        var state = seed ^ 0x6A09E667F3BCC909UL;
        var mixed = Mix(state + 0x9E3779B97F4A7C15UL * (ulong)(uint)(rootIndex + 1));
        return Mix(mixed ^ seed);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
