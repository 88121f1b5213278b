using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Telos.Environments;
using Telos.IO;
using Telos.Learning.Objectives;
using Telos.Objectives;
using Telos.Planning;

namespace Telos.Cli.Commands;

/// <summary>
/// <c>telos plan</c>: run a hard-coded planner with an objective through one maze level, draw the
/// path and explain it; <c>telos plan bench</c>: throughput of the batched MCTS planners.
/// </summary>
public sealed class PlanCommands : ICommandGroup
{
    public int Order => 40;

    public IEnumerable<Command> Create(CliContext context)
    {
        var env = new Option<string>("--env") { Description = "Task distribution: maze/train, maze/test or maze/far", DefaultValueFactory = _ => "maze/test" };
        var seed = new Option<long>("--seed") { Description = "Level seed", DefaultValueFactory = _ => 0 };
        var size = new Option<int>("--size") { Description = "Maze side (odd, 3..25)", DefaultValueFactory = _ => MazeDistribution.DefaultSize };
        var objective = new Option<string>("--objective")
        {
            Description = "Objective card file (telos objective format), or 'true' (the maze's own reward: 10·at_cheese) or 'corner' (the proxy: 10·at_corner)",
            DefaultValueFactory = _ => "true",
        };
        var planner = new Option<string>("--planner") { Description = "bfs | astar | dijkstra | vi | mcts | gumbel | uct", DefaultValueFactory = _ => "bfs" };
        var sims = new Option<int>("--sims") { Description = "MCTS simulations per decision", DefaultValueFactory = _ => 64 };
        var discount = new Option<double>("--discount") { Description = "γ for vi and MCTS, in [0, 1)", DefaultValueFactory = _ => 0.99 };
        var horizon = new Option<int>("--horizon") { Description = "BFS depth limit (0 = the level's step limit)", DefaultValueFactory = _ => 0 };
        var searchSeed = new Option<ulong>("--search-seed") { Description = "Seed of the search's noise (MCTS)", DefaultValueFactory = _ => 0 };
        var tree = new Option<string?>("--tree") { Description = "Write the first decision's search tree as JSON to this file (bfs and the MCTS planners; astar, dijkstra and vi have no tree and write an empty node list)" };

        var plan = new Command("plan", "Plan through a maze level with an objective: draw the path and explain each step in the objective's terms");
        foreach (var option in new Option[] { env, seed, size, objective, planner, sims, discount, horizon, searchSeed, tree })
        {
            plan.Options.Add(option);
        }
        plan.SetAction(result => Plan(context, CliContext.Json(result), new PlanRequest(
            result.GetValue(env)!, result.GetValue(seed), result.GetValue(size), result.GetValue(objective)!, result.GetValue(planner)!,
            new PlanBudget(result.GetValue(sims), result.GetValue(horizon), result.GetValue(discount), result.GetValue(searchSeed)),
            result.GetValue(tree))));

        var benchPlanner = new Option<string>("--planner") { Description = "mcts | gumbel | uct", DefaultValueFactory = _ => "gumbel" };
        var batch = new Option<int>("--batch") { Description = "B, roots searched together", DefaultValueFactory = _ => 256 };
        var benchSims = new Option<int>("--sims") { Description = "N, simulations per root", DefaultValueFactory = _ => 64 };
        var repeats = new Option<int>("--repeats") { Description = "Timed searches after two warm-ups (median reported)", DefaultValueFactory = _ => 5 };
        var benchModel = new Option<string>("--model") { Description = "maze (the planner's model and a compiled objective on a 25×25 maze) or synthetic (the engine's trivial model: tree overhead)", DefaultValueFactory = _ => "maze" };
        var bench = new Command("bench", "Simulations per second of a batched MCTS planner on a 25×25 maze, and the share of time in leaf evaluation");
        foreach (var option in new Option[] { benchPlanner, batch, benchSims, repeats, benchModel })
        {
            bench.Options.Add(option);
        }
        bench.SetAction(result => Bench(context, CliContext.Json(result), result.GetValue(benchPlanner)!, result.GetValue(batch), result.GetValue(benchSims),
            result.GetValue(repeats), result.GetValue(benchModel)!));
        plan.Subcommands.Add(bench);
        yield return plan;
    }

    private sealed record PlanRequest(string Env, long Seed, int Size, string Objective, string Planner, PlanBudget Budget, string? TreePath);

    private static int Plan(CliContext context, bool json, PlanRequest request)
    {
        // Everything that can be refused is checked before anything is computed or written.
        if (TaskDistributions.FamilyOf(request.Env) != "maze")
        {
            throw new TelosInputException($"telos plan supports the maze distributions (maze/train, maze/test, maze/far); '{request.Env}' is not one");
        }
        _ = Planners.Create<MazeState>(request.Planner);
        request.Budget.Validate();
        var maze = TaskDistributions.Maze(request.Env, request.Size).Level(request.Seed);
        var (evaluator, weights, label) = ResolveObjective(request.Objective, maze);

        var outcome = MazePlanning.Plan(maze, evaluator, request.Planner, request.Budget, weights);
        if (request.TreePath is { } treePath)
        {
            var first = Planners.Create<MazeState>(request.Planner).Decide(maze.Initial, maze, evaluator, request.Budget with { KeepTree = true });
            var snapshot = first.Tree ?? new SearchTreeSnapshot(request.Planner, maze.ActionCount, []);
            AtomicFile.WriteAllText(treePath, snapshot.ToJson());
        }

        if (json)
        {
            context.WriteLine(JsonSerializer.Serialize(new
            {
                env = request.Env,
                size = request.Size,
                seed = request.Seed,
                level = maze.Provenance,
                planner = request.Planner,
                objective = label,
                steps = outcome.Steps,
                decisions = outcome.Decisions,
                reached_cheese = outcome.ReachedCheese,
                ended_at_corner = outcome.EndedAtCorner,
                halted = outcome.Halted,
                truncated = outcome.Truncated,
                cells = outcome.Cells,
                actions = outcome.Actions.Select(MazePlanning.ActionName),
                ascii = outcome.Ascii,
                trace = outcome.Trace.ToJsonObject(),
            }));
            return ExitCodes.Success;
        }

        var console = context.Console;
        console.MarkupLine($"[bold]{Markup.Escape(maze.Provenance ?? request.Env)}[/]  planner [bold]{Markup.Escape(request.Planner)}[/]  objective [bold]{Markup.Escape(label)}[/]");
        context.WriteLine(outcome.Ascii.TrimEnd('\n'));
        var ending = outcome.ReachedCheese ? "[green]reached the cheese[/]"
            : outcome.EndedAtCorner ? "[yellow]ended at the top-right corner[/]"
            : outcome.Truncated ? "[red]hit the step limit[/]"
            : "[yellow]halted elsewhere[/]";
        console.MarkupLine($"{ending} after {outcome.Steps} steps ({outcome.Decisions} decisions){(outcome.Halted ? ", then halted" : "")}");
        context.WriteLine(outcome.Trace.Render().TrimEnd('\n'));
        return ExitCodes.Success;
    }

    /// <summary>The objective named on the command line, as the planners' batched evaluator, with linear weights for the trace.</summary>
    internal static (IStateEvaluator<MazeState> Evaluator, IReadOnlyDictionary<string, double>? Weights, string Label) ResolveObjective(string spec, Maze maze)
    {
        ObjectiveCard card;
        string label;
        switch (spec)
        {
            case "true":
                card = ObjectiveCard.Linear([new("at_cheese", Maze.CheeseReward)]);
                label = "true (10·at_cheese)";
                break;
            case "corner":
                card = ObjectiveCard.Linear([new("at_corner", Maze.CheeseReward)]);
                label = "corner (10·at_corner)";
                break;
            default:
                if (!File.Exists(spec))
                {
                    throw new TelosInputException($"objective file '{spec}' does not exist; pass an objective card file, 'true' (the maze's own reward) or 'corner' (the proxy)");
                }
                var loaded = ObjectiveFiles.Load(spec);
                var evaluator = loaded.Evaluator(maze);
                return (evaluator, PlanTrace.LinearWeights(loaded.Card), $"{Path.GetFileName(spec)} ({ObjectiveCard.FormName(loaded.Card.Form)})");
        }
        return (new FeatureObjectiveEvaluator<MazeState>(maze, card.Compile()), PlanTrace.LinearWeights(card), label);
    }

    private static int Bench(CliContext context, bool json, string planner, int batch, int sims, int repeats, string model)
    {
        var result = PlanBench.Run(planner, batch, sims, repeats, model);
        if (json)
        {
            context.WriteLine(JsonSerializer.Serialize(new
            {
                planner = result.Planner,
                sims_per_second = Math.Round(result.SimulationsPerSecond, 1),
                eval_fraction = Math.Round(result.EvalFraction, 4),
                model = result.Model,
                batch = result.Batch,
                sims = result.Simulations,
                repeats = result.Repeats,
            }));
            return ExitCodes.Success;
        }
        var table = new Table().AddColumn("planner").AddColumn("model").AddColumn("batch").AddColumn("sims").AddColumn("sims/s").AddColumn("eval fraction");
        table.AddRow(Markup.Escape(result.Planner), Markup.Escape(result.Model), result.Batch.ToString(CultureInfo.InvariantCulture), result.Simulations.ToString(CultureInfo.InvariantCulture),
            result.SimulationsPerSecond.ToString("N0", CultureInfo.InvariantCulture), result.EvalFraction.ToString("P1", CultureInfo.InvariantCulture));
        context.Console.Write(table);
        return ExitCodes.Success;
    }
}
