using Telos.Randomness;

namespace Telos.Planning.Search;

// Policy outputs (mctx policies.py, after the search): each root's action, policy target, visit counts and value.
public sealed partial class BatchedSearch<TEmbedding>
{
    /// <summary>Writes root <paramref name="b"/>'s visit counts, value, action and policy target into the result buffers.</summary>
    private void Summarize(int b)
    {
        var a = ActionCount;
        var o = _tree.NodeOffset(b, SearchTree.RootIndex);
        var visits = _tree.VisitRow(o);
        var valid = _tree.ValidRow(o);
        var weights = _weights.AsSpan(b * a, a);
        visits.CopyTo(_visits.AsSpan(b * a, a));
        _rootValues[b] = _tree.ValueAt(o);
        if (_kind == SearchPolicyKind.Gumbel)
        {
            SummarizeGumbel(b, visits, valid, weights);
        }
        else
        {
            SummarizeVisits(b, visits, valid, weights);
        }
    }

    /// <summary>
    /// UCT and PUCT (mctx muzero_policy): the target is the visit distribution; the action is the
    /// most visited legal one at temperature 0, else sampled ∝ N(a)^(1/T).
    /// </summary>
    private void SummarizeVisits(int b, ReadOnlySpan<int> visits, ReadOnlySpan<bool> valid, Span<float> weights)
    {
        var a = ActionCount;
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
        var temperature = _kind == SearchPolicyKind.Puct ? _puct.Policy!.Temperature : ((UctPolicy)_policy).Temperature;
        _actions[b] = temperature == 0 || total == 0 ? mostVisited : SampleVisits(ref _rngs[b], visits, valid, temperature, mostVisited);
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
