using Telos.Environments;
using Telos.Objectives;

namespace Telos.Planning;

/// <summary>Throughput of a batched MCTS planner, as <c>telos plan bench</c> prints it.</summary>
/// <param name="Planner">mcts, gumbel or uct.</param>
/// <param name="Batch">B, roots per search.</param>
/// <param name="Simulations">N per root.</param>
/// <param name="SimulationsPerSecond">B·N / wall time of one search (median over repeats).</param>
/// <param name="EvalFraction">Share of search time inside the recurrent model: environment steps plus the batched objective evaluation (median).</param>
/// <param name="Repeats">Timed searches after one warm-up.</param>
public sealed record PlanBenchResult(string Planner, int Batch, int Simulations, double SimulationsPerSecond, double EvalFraction, int Repeats);

/// <summary>
/// Measures a batched MCTS planner on one 25×25 <c>maze/test</c> level (seed 0): B roots spread over
/// the level's states, one shared compiled linear objective over the maze features, so each
/// simulation wave is one batched objective call of up to B states.
/// </summary>
public static class PlanBench
{
    /// <summary>The benchmark objective: a linear card over maze features (true goal plus proxies).</summary>
    public static IReadOnlyDictionary<string, double> Weights { get; } = new Dictionary<string, double>
    {
        ["at_cheese"] = 10, ["path_dist_to_cheese"] = -1, ["path_dist_to_corner"] = -0.1, ["euclid_dist_to_cheese"] = -0.5, ["at_corner"] = 1,
    };

    /// <summary>Runs one warm-up search and <paramref name="repeats"/> timed ones; reports the medians.</summary>
    /// <exception cref="TelosInputException">Unknown planner (not an MCTS one) or sizes out of range.</exception>
    public static PlanBenchResult Run(string planner, int batch, int simulations, int repeats = 5, ulong seed = 0)
    {
        if (batch < 1 || batch > 65_536)
        {
            throw new TelosInputException($"batch {batch} must be in 1..65536");
        }
        if (simulations < 1 || simulations > 100_000)
        {
            throw new TelosInputException($"sims {simulations} must be in 1..100000");
        }
        if (repeats < 1)
        {
            throw new TelosInputException($"repeats {repeats} must be at least 1");
        }
        var search = Planners.Create<MazeState>(planner) as MctsPlanner<MazeState>
            ?? throw new TelosInputException($"plan bench measures the MCTS planners (mcts, gumbel, uct); '{planner}' is exact");
        var maze = TaskDistributions.Maze("maze/test", 25).Level(0);
        var columns = Weights.Keys.ToArray();
        var objective = new FeatureObjectiveEvaluator<MazeState>(maze, new CompiledLinearObjective(new FeatureSchema(columns), Weights.Values.ToArray()));
        var states = new MazeState[batch];
        for (var i = 0; i < batch; i++)
        {
            states[i] = maze.StateAt((int)((long)i * 7919 % maze.StateCount));
        }
        var models = Enumerable.Repeat<IEnvironment<MazeState>>(maze, batch).ToArray();
        var objectives = Enumerable.Repeat<IStateEvaluator<MazeState>>(objective, batch).ToArray();
        var budget = new PlanBudget(Simulations: simulations, Seed: seed);
        search.DecideBatch(states, models, objectives, budget);
        var rates = new double[repeats];
        var fractions = new double[repeats];
        for (var r = 0; r < repeats; r++)
        {
            search.DecideBatch(states, models, objectives, budget with { Seed = seed + (ulong)r + 1 });
            rates[r] = search.LastStatistics.SimulationsPerSecond;
            fractions[r] = search.LastStatistics.EvalFraction;
        }
        return new PlanBenchResult(search.Name, batch, simulations, Median(rates), Median(fractions), repeats);
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        var n = values.Length;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }
}
