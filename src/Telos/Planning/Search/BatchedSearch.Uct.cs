using System.Runtime.InteropServices;

namespace Telos.Planning.Search;

// UCT (UctPolicy): selection through the policy's Q-transform. No root noise; outputs from visits (BatchedSearch.Outputs.cs).
public sealed partial class BatchedSearch<TEmbedding>
{
    private readonly float _uctExploration; // c

    /// <summary>argmax over actions of <see cref="ActionSelection.UctScore"/>, exact ties broken uniformly.</summary>
    private int SelectUct(int b, int node)
    {
        var a = ActionCount;
        var o = _tree.NodeOffset(b, node);
        var visits = _tree.VisitRow(o);
        var valid = _tree.ValidRow(o);
        var q = _scratchA.AsSpan();
        var scores = _scratchB.AsSpan();
        _qTransform.Transform(_tree, b, node, q);
        var logN = MathF.Log(_tree.VisitsAt(o));
        var c = _uctExploration;
        var best = float.NegativeInfinity;
        for (var i = 0; i < a; i++)
        {
            // Unvisited actions come first, in random order.
            var score = ActionSelection.UctScore(q[i], visits[i], valid[i], logN, c);
            scores[i] = score;
            best = MathF.Max(best, score);
        }
        return ArgmaxWithTies(ref MemoryMarshal.GetReference(scores), a, best, ref _rngs[b]);
    }
}
