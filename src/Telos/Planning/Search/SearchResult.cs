namespace Telos.Planning.Search;

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
