using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Telos.Randomness;

namespace Telos.Planning.Search;

// Selection dispatch and the argmax shared by the policies' rules (mctx action_selection.py's callers).
public sealed partial class BatchedSearch<TEmbedding>
{
    /// <summary>
    /// The action the policy selects at <paramref name="node"/> of root <paramref name="b"/>, at
    /// <paramref name="depth"/> (0 at the root); −1 when the node has no legal action.
    /// </summary>
    private int Select(int b, int node, int depth)
    {
        if (_puct.Fused)
        {
            // Both check for no legal action themselves, after the row is loaded.
            return _puct.OneVector ? SelectPuctOneVector(b, node) : SelectPuctFused(b, node);
        }
        if (_tree.ValidCountAt(_tree.NodeOffset(b, node)) == 0)
        {
            return -1;
        }
        return _kind switch
        {
            SearchPolicyKind.Uct => SelectUct(b, node),
            SearchPolicyKind.Puct => SelectPuct(b, node),
            _ => depth == 0 ? SelectGumbelRoot(b)
                : _gumbel.FusedCompleted is null ? SelectGumbelInterior(b, node) : SelectGumbelInteriorFused(b, node),
        };
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
}
