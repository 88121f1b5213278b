using System.Diagnostics;

namespace Telos.Planning.Search;

/// <summary>
/// The trivial evaluator of the tree-overhead benchmarks (and of the NumPy peer in
/// <c>bench/peers/mcts-tree.py</c>, which computes the same numbers): embeddings are integers,
/// next = (parent·8 + action + 1) mod 1 000 003, reward = (next mod 17)/16 − 0.5, discount 1,
/// uniform prior, value 0, every action legal. Costs a few nanoseconds per row, so timings measure the tree.
/// </summary>
public sealed class SyntheticTreeModel : IRecurrentModel<int>
{
    /// <inheritdoc/>
    public void Recurrent(in RecurrentBatch<int> batch)
    {
        var embeddings = batch.Embeddings;
        var actions = batch.Actions;
        var next = batch.NextEmbeddings;
        var rewards = batch.Rewards;
        for (var row = 0; row < actions.Length; row++)
        {
            var n = (int)(((long)embeddings[row] * 8 + actions[row] + 1) % 1_000_003);
            next[row] = n;
            rewards[row] = n % 17 / 16f - 0.5f;
        }
    }
}

/// <summary>One measurement of <see cref="SearchBenchmark"/>.</summary>
/// <param name="Planner">"uct", "puct" or "gumbel".</param>
/// <param name="Batch">B.</param>
/// <param name="Simulations">N per root.</param>
/// <param name="Actions">A.</param>
/// <param name="SimsPerSecond">B·N divided by the median wall time of one search.</param>
/// <param name="EvalFraction">Share of that search's time spent inside the model (leaf evaluation).</param>
/// <param name="MedianSeconds">Median wall time of one batched search.</param>
public readonly record struct SearchBenchmarkResult(string Planner, int Batch, int Simulations, int Actions, double SimsPerSecond, double EvalFraction, double MedianSeconds);

/// <summary>
/// Times batched searches, for <c>telos plan bench</c> and the benchmarks: warm-up runs, then the
/// median over repeats of simulations per second and of the share of time spent in the model.
/// </summary>
public static class SearchBenchmark
{
    /// <summary>The planner names <see cref="Policy"/> accepts.</summary>
    public static IReadOnlyList<string> Planners { get; } = ["uct", "puct", "gumbel"];

    /// <summary>The policy of a planner name (<see cref="Telos.Planning.Planners.SearchPolicy"/>; "puct" is PUCT with its self-play defaults).</summary>
    /// <exception cref="TelosInputException">Unknown name.</exception>
    public static SearchPolicy Policy(string planner) => Telos.Planning.Planners.SearchPolicy(planner);

    /// <summary>Measures <paramref name="planner"/> on the <see cref="SyntheticTreeModel"/> with uniform roots.</summary>
    /// <exception cref="TelosInputException">Unknown planner or a non-positive size.</exception>
    public static SearchBenchmarkResult Synthetic(string planner, int batch, int simulations, int actions = 16, int repeats = 5, ulong seed = 0)
    {
        if (batch < 1 || simulations < 1 || actions < 1 || repeats < 1)
        {
            throw new TelosInputException($"bench sizes must be positive: batch {batch}, sims {simulations}, actions {actions}, repeats {repeats}");
        }
        var search = new BatchedSearch<int>(batch, actions, simulations, Policy(planner));
        var logits = new float[batch * actions];
        var values = new float[batch];
        var embeddings = new int[batch];
        for (var i = 0; i < batch; i++)
        {
            embeddings[i] = i;
        }
        return Measure(search, logits, values, embeddings, new SyntheticTreeModel(), repeats, seed);
    }

    /// <summary>
    /// Measures <paramref name="search"/> from the given roots with any model: two warm-up searches,
    /// then <paramref name="repeats"/> timed ones (seeds seed, seed+1, ...). Root arrays are as in <see cref="SearchRoot{TEmbedding}"/>.
    /// </summary>
    public static SearchBenchmarkResult Measure<TEmbedding>(
        BatchedSearch<TEmbedding> search, float[] priorLogits, float[] values, TEmbedding[] embeddings, IRecurrentModel<TEmbedding> model, int repeats = 5, ulong seed = 0, bool[]? validActions = null)
        where TEmbedding : struct
    {
        ArgumentNullException.ThrowIfNull(search);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(repeats);
        for (var i = 0; i < 2; i++)
        {
            search.Run(new SearchRoot<TEmbedding>(priorLogits, values, embeddings, validActions), model, seed);
        }
        var stats = new SearchStatistics[repeats];
        for (var i = 0; i < repeats; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var result = search.Run(new SearchRoot<TEmbedding>(priorLogits, values, embeddings, validActions), model, seed + (ulong)i);
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            stats[i] = result.Statistics with { TotalSeconds = seconds };
        }
        Array.Sort(stats, (x, y) => x.TotalSeconds.CompareTo(y.TotalSeconds));
        var median = stats[repeats / 2];
        return new SearchBenchmarkResult(search.Policy.Name, values.Length, search.Simulations, search.ActionCount, median.SimulationsPerSecond, median.EvalFraction, median.TotalSeconds);
    }
}
