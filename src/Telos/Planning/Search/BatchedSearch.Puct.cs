using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Telos.Randomness;

namespace Telos.Planning.Search;

// PUCT (PuctPolicy, mctx muzero_policy): Dirichlet noise at the root, then selection by
// ActionSelection.PuctScore. Three paths choose the same actions: SelectPuct through any Q-transform
// (the reference loop), and with the parent-and-siblings transform SelectPuctFused (512/256-bit
// loops, scalar tail) or SelectPuctOneVector (A ≤ 16 in one masked 512-bit vector). Outputs from visits.
public sealed partial class BatchedSearch<TEmbedding>
{
    private readonly PuctSelection _puct;

    /// <summary>mctx: noisy prior = (1 − f)·softmax(logits) + f·Dirichlet(α); logits = log(noisy). Nothing when f = 0.</summary>
    private void AddDirichletNoise(ref Rng rng, Span<float> logits, ReadOnlySpan<bool> valid)
    {
        var policy = _puct.Policy!;
        if (!(policy.DirichletFraction > 0))
        {
            return;
        }
        var probs = _scratchA.AsSpan();
        var noise = _scratchB.AsSpan();
        SearchTree.StorePrior(noise, probs, logits, valid);
        Dirichlet.Sample(ref rng, policy.DirichletAlpha, noise);
        var f = policy.DirichletFraction;
        for (var i = 0; i < logits.Length; i++)
        {
            logits[i] = MathF.Log(MathF.Max((1f - f) * probs[i] + f * noise[i], float.Epsilon));
        }
    }

    /// <summary>
    /// argmax over actions of <see cref="ActionSelection.PuctScore"/> through any <see cref="IQTransform"/>,
    /// exact ties broken uniformly; the fused paths compute the same numbers.
    /// </summary>
    private int SelectPuct(int b, int node)
    {
        var a = ActionCount;
        var o = _tree.NodeOffset(b, node);
        var visits = _tree.VisitRow(o);
        // Masked priors: −∞ on illegal actions, and explore > 0 keeps them at −∞.
        var priors = _tree.PriorScoreRow(o);
        var q = _scratchA.AsSpan();
        var scores = _scratchB.AsSpan();
        _qTransform.Transform(_tree, b, node, q);
        var policy = _puct.Policy!;
        var explore = ActionSelection.PuctExploration(_tree.VisitsAt(o), policy.PbCInit, policy.PbCBase);
        var best = float.NegativeInfinity;
        for (var i = 0; i < a; i++)
        {
            var score = ActionSelection.PuctScore(q[i], priors[i], visits[i], explore);
            scores[i] = score;
            best = MathF.Max(best, score);
        }
        return ArgmaxWithTies(ref MemoryMarshal.GetReference(scores), a, best, ref _rngs[b]);
    }

    /// <summary>
    /// PUCT with the parent-and-siblings transform, vectorised over actions (16 or 8 floats a step,
    /// scalar tail): the same arithmetic as <see cref="ParentAndSiblingsQTransform"/> then <see cref="SelectPuct"/>,
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
        var explore = _puct.ExploreByVisits[tree.VisitsAt(n)];
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
        var scale = 1f / MathF.Max(max - min, _puct.Epsilon);
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
            var score = ActionSelection.PuctScore(valueScore, Unsafe.Add(ref priors, i), v, explore);
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
        var explore = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_puct.ExploreByVisits), header);
        var visitCounts = Vector512.LoadUnsafe(ref Unsafe.Add(ref block, a));
        var qv = Vector512.LoadUnsafe(ref Unsafe.As<int, float>(ref Unsafe.Add(ref block, 2 * a)));
        var priors = Vector512.LoadUnsafe(ref Unsafe.As<int, float>(ref Unsafe.Add(ref block, 3 * a)));
        var inRange = _puct.ActionLanes.AsSingle();

        // Pass 1: min/max over the parent value and the visited children (lanes ≥ A hold the parent value).
        var nodeValueW = Vector512.Create(nodeValue);
        var visited = Vector512.GreaterThan(visitCounts, Vector512<int>.Zero).AsSingle() & inRange;
        var safe = Vector512.ConditionalSelect(visited, qv, nodeValueW);
        var minW = Vector512.MinNative(nodeValueW, safe);
        var maxW = Vector512.MaxNative(nodeValueW, safe);
        var min = MathF.Min(nodeValue, HorizontalMin(Vector256.MinNative(minW.GetLower(), minW.GetUpper())));
        var max = MathF.Max(nodeValue, HorizontalMax(Vector256.MaxNative(maxW.GetLower(), maxW.GetUpper())));

        // Pass 2: score = Q̃ + √N·c(N)·P/(1 + n), −∞ when illegal and in lanes ≥ A.
        var scale = 1f / MathF.Max(max - min, _puct.Epsilon);
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


    /// <summary>What PUCT selection keeps between searches: the policy and, for the fused paths, precomputed tables.</summary>
    private readonly struct PuctSelection
    {
        /// <summary>The policy; null when the search runs another policy.</summary>
        public readonly PuctPolicy? Policy;

        /// <summary>Whether the fused paths run: the transform is <see cref="ParentAndSiblingsQTransform"/>, inlined. False for other policies.</summary>
        public readonly bool Fused;

        /// <summary>The inlined transform's smallest range.</summary>
        public readonly float Epsilon;

        /// <summary>A ≤ 16 with 512-bit vectors: a node's actions fit one vector, lanes ≥ A masked off.</summary>
        public readonly bool OneVector;

        /// <summary>−1 in lanes &lt; A, 0 beyond.</summary>
        public readonly Vector512<int> ActionLanes;

        /// <summary>[N+2] <see cref="ActionSelection.PuctExploration"/> by node visits (a node is visited at most N + 1 times): spares a log and a sqrt per step.</summary>
        public readonly float[] ExploreByVisits;

        public PuctSelection(PuctPolicy policy, int actionCount, int simulations)
        {
            Policy = policy;
            ExploreByVisits = [];
            if (policy.QTransform is not ParentAndSiblingsQTransform parentAndSiblings)
            {
                return;
            }
            Fused = true;
            Epsilon = parentAndSiblings.Epsilon;
            OneVector = Vector512.IsHardwareAccelerated && actionCount <= Vector512<int>.Count;
            ActionLanes = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(actionCount));
            ExploreByVisits = new float[simulations + 2];
            for (var visits = 0; visits < ExploreByVisits.Length; visits++)
            {
                ExploreByVisits[visits] = ActionSelection.PuctExploration(visits, policy.PbCInit, policy.PbCBase);
            }
        }
    }
}
