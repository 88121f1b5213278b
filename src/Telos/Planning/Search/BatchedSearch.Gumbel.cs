using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Telos.Randomness;

namespace Telos.Planning.Search;

// Gumbel MuZero (GumbelPolicy, mctx gumbel_muzero_policy): Gumbel noise at the root, sequential
// halving over the considered root actions (ActionSelection.GumbelRootScore), deterministic interior
// selection (ActionSelection.GumbelInteriorScore) through any Q-transform or, with the completed-by-mix
// transform, inlined; the action and the completed-Q policy target.
public sealed partial class BatchedSearch<TEmbedding>
{
    private readonly GumbelSelection _gumbel;

    /// <summary>g(a) = scale · Gumbel(0, 1) for each root action, from the root's stream.</summary>
    private void DrawGumbelNoise(int b, ref Rng rng)
    {
        var a = ActionCount;
        var g = _gumbel.Noise.AsSpan(b * a, a);
        var scale = _gumbel.Policy!.GumbelScale;
        for (var i = 0; i < a; i++)
        {
            g[i] = scale * (float)rng.NextGumbel();
        }
    }

    /// <summary>
    /// mctx gumbel_muzero_root_action_selection: the considered visit count for this simulation from
    /// the sequential-halving schedule, then <see cref="ArgmaxConsidered"/>.
    /// </summary>
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
        var considered = Math.Min(_gumbel.MaxConsidered, _tree.ValidCountAt(_tree.NodeOffset(b, SearchTree.RootIndex)));
        var consideredVisit = _gumbel.HalvingTable[considered * Simulations + Math.Min(simulationIndex, Simulations - 1)];
        return ArgmaxConsidered(b, consideredVisit, q);
    }

    /// <summary>
    /// mctx seq_halving.score_considered + masked argmax: the first maximum of
    /// <see cref="ActionSelection.GumbelRootScore"/> among legal actions with the considered visit count.
    /// </summary>
    private int ArgmaxConsidered(int b, int consideredVisit, ReadOnlySpan<float> completedQ)
    {
        var a = ActionCount;
        var o = _tree.NodeOffset(b, SearchTree.RootIndex);
        var visits = _tree.VisitRow(_tree.NodeOffset(b, SearchTree.RootIndex));
        var logits = _tree.LogitRow(o);
        var valid = _tree.ValidRow(o);
        var gumbel = _gumbel.Noise.AsSpan(b * a, a);
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
            var score = ActionSelection.GumbelRootScore(gumbel[i], logits[i], completedQ[i]);
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
    /// mctx gumbel_muzero_interior_action_selection through any <see cref="IQTransform"/>: the first
    /// maximum of <see cref="ActionSelection.GumbelInteriorScore"/> with π' = softmax(logits + σ(q̂)) over legal actions.
    /// </summary>
    private int SelectGumbelInterior(int b, int node)
    {
        var a = ActionCount;
        var o = _tree.NodeOffset(b, node);
        var visits = _tree.VisitRow(o);
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
            var score = ActionSelection.GumbelInteriorScore(q[i] * invSum, visits[i], invVisits);
            if (score > best)
            {
                best = score;
                bestAction = i;
            }
        }
        return bestAction;
    }

    /// <summary>
    /// <see cref="SelectGumbelInterior"/> with <see cref="CompletedByMixValueQTransform"/> inlined:
    /// the same operations in the same order (a test checks equal results), without bounds checks.
    /// </summary>
    private int SelectGumbelInteriorFused(int b, int node)
    {
        var tree = _tree;
        var transform = _gumbel.FusedCompleted!;
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
            var score = ActionSelection.GumbelInteriorScore(Unsafe.Add(ref q, i) * invSum, Unsafe.Add(ref visits, i), invVisits);
            if (score > best)
            {
                best = score;
                bestAction = i;
            }
        }
        return bestAction;
    }

    /// <summary>
    /// The action: the first maximum of g + logits + σ(q̂) among the most visited legal root actions;
    /// the policy target: softmax(logits + σ(q̂)) over legal actions, 0 elsewhere.
    /// </summary>
    private void SummarizeGumbel(int b, ReadOnlySpan<int> visits, ReadOnlySpan<bool> valid, Span<float> weights)
    {
        var a = ActionCount;
        var o = _tree.NodeOffset(b, SearchTree.RootIndex);
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
    }

    /// <summary>What Gumbel selection keeps between searches: the policy, the halving schedule, the root noise.</summary>
    private readonly struct GumbelSelection
    {
        /// <summary>The policy; null when the search runs another policy.</summary>
        public readonly GumbelPolicy? Policy;

        /// <summary>min(k, A): the most root actions considered.</summary>
        public readonly int MaxConsidered;

        /// <summary><see cref="SequentialHalving.Table"/>(k, N): considered visit count by considered actions and simulation.</summary>
        public readonly int[] HalvingTable;

        /// <summary>Set when the transform is <see cref="CompletedByMixValueQTransform"/>: interior selection inlines it.</summary>
        public readonly CompletedByMixValueQTransform? FusedCompleted;

        /// <summary>[B, A] g(a) of each root, drawn when the root is set.</summary>
        public readonly float[] Noise;

        public GumbelSelection(GumbelPolicy policy, int batchSize, int actionCount, int simulations)
        {
            Policy = policy;
            MaxConsidered = Math.Min(policy.MaxConsideredActions, actionCount);
            HalvingTable = SequentialHalving.Table(MaxConsidered, simulations);
            FusedCompleted = policy.QTransform as CompletedByMixValueQTransform;
            Noise = new float[batchSize * actionCount];
        }
    }
}
