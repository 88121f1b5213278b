using System.Diagnostics;
using Telos.Environments;
using Telos.Objectives;
using Telos.Planning.Search;

namespace Telos.Planning;

/// <summary>Throughput of a batched MCTS planner, as <c>telos plan bench</c> prints it.</summary>
/// <param name="Planner">mcts, gumbel or uct.</param>
/// <param name="Model">"maze" (the planner's own model and objective) or "synthetic" (the engine's trivial model: tree overhead only).</param>
/// <param name="Batch">B, roots per search.</param>
/// <param name="Simulations">N per root.</param>
/// <param name="SimulationsPerSecond">B·N / median wall time of one search.</param>
/// <param name="EvalFraction">Share of that search's time inside the recurrent model: environment steps plus the batched objective evaluation.</param>
/// <param name="Repeats">Timed searches after the warm-up.</param>
public sealed record PlanBenchResult(string Planner, string Model, int Batch, int Simulations, double SimulationsPerSecond, double EvalFraction, int Repeats);

/// <summary>
/// Measures a batched MCTS planner with the search engine's bench function
/// (<see cref="SearchBenchmark.Measure{TEmbedding}"/>: two warm-ups, median of the repeats).
/// Model "maze": one 25×25 <c>maze/test</c> level (seed 0), B roots spread over its states, the
/// planner's <see cref="ObjectiveSearchModel{TState}"/> with one shared compiled linear objective over
/// the maze features, so each simulation wave is one batched objective call of up to B states.
/// Model "synthetic": the engine's trivial model with A = 16 (<see cref="SearchBenchmark.Synthetic"/>).
/// </summary>
public static class PlanBench
{
    /// <summary>The benchmark objective: a linear card over maze features (true goal plus proxies).</summary>
    public static IReadOnlyDictionary<string, double> Weights { get; } = new Dictionary<string, double>
    {
        ["at_cheese"] = 10, ["path_dist_to_cheese"] = -1, ["path_dist_to_corner"] = -0.1, ["euclid_dist_to_cheese"] = -0.5, ["at_corner"] = 1,
    };

    /// <summary>The benchmark's maze level and objective.</summary>
    public static (Maze Maze, IStateEvaluator<MazeState> Objective) Workload()
    {
        var maze = TaskDistributions.Maze("maze/test", 25).Level(0);
        var columns = Weights.Keys.ToArray();
        return (maze, new FeatureObjectiveEvaluator<MazeState>(maze, new CompiledLinearObjective(new FeatureSchema(columns), Weights.Values.ToArray())));
    }

    /// <summary>Runs the measurement.</summary>
    /// <exception cref="TelosInputException">Unknown planner (not an MCTS one), unknown model or sizes out of range.</exception>
    public static PlanBenchResult Run(string planner, int batch, int simulations, int repeats = 5, string model = "maze", ulong seed = 0)
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
        var mcts = Planners.Create<MazeState>(planner) as MctsPlanner<MazeState>
            ?? throw new TelosInputException($"plan bench measures the MCTS planners (mcts, gumbel, uct); '{planner}' is exact");
        SearchBenchmarkResult result;
        switch (model)
        {
            case "synthetic":
                var synthetic = new BatchedSearch<int>(batch, 16, simulations, mcts.Policy);
                var (sLogits, sValues, sRoots) = (new float[batch * 16], new float[batch], Enumerable.Range(0, batch).ToArray());
                var trivial = new SyntheticTreeModel();
                WarmUp(() => synthetic.Run(new SearchRoot<int>(sLogits, sValues, sRoots), trivial, seed));
                result = SearchBenchmark.Measure(synthetic, sLogits, sValues, sRoots, trivial, repeats, seed);
                break;
            case "maze":
                var (maze, objective) = Workload();
                var search = new ObjectiveSearchModel<MazeState>(batch, maze.ActionCount, PlanBudget.Default.Discount);
                var states = new MazeState[batch];
                for (var i = 0; i < batch; i++)
                {
                    states[i] = maze.StateAt((int)((long)i * 7919 % maze.StateCount));
                    search.Bind(i, maze, objective);
                }
                var a = search.ActionCount;
                var logits = new float[batch * a];
                var values = new float[batch];
                var valid = new bool[batch * a];
                search.WriteRoots(states, logits, values, valid);
                var engine = new BatchedSearch<MazeState>(batch, a, simulations, mcts.Policy);
                WarmUp(() => engine.Run(new SearchRoot<MazeState>(logits, values, states, valid), search, seed));
                result = SearchBenchmark.Measure(engine, logits, values, states, search, repeats, seed, valid);
                break;
            default:
                throw new TelosInputException($"unknown bench model '{model}'; known: maze, synthetic");
        }
        return new PlanBenchResult(mcts.Name, model, batch, simulations, result.SimsPerSecond, result.EvalFraction, repeats);
    }

    /// <summary>
    /// Runs the search for at least half a second (and at least 5 times) before measuring, so the JIT
    /// has promoted the search and the model to optimised code: with the engine's two warm-ups alone,
    /// the share of time in the model swung from 1 % to 31 % between runs of the same command.
    /// </summary>
    private static void WarmUp(Action search)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < 1000 && (i < 5 || Stopwatch.GetElapsedTime(start).TotalSeconds < 0.5); i++)
        {
            search();
        }
    }
}
