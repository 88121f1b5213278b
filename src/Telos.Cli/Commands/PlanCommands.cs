using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Telos.Environments;
using Telos.IO;
using Telos.Learning.Objectives;
using Telos.Learning.Planning;
using Telos.Objectives;
using Telos.Planning;

namespace Telos.Cli.Commands;

/// <summary>
/// <c>telos plan</c>: run a hard-coded planner with an objective through one level of any family, draw the
/// path and explain it; <c>telos plan bench</c>: throughput of the batched MCTS planners.
/// </summary>
public sealed class PlanCommands : ICommandGroup
{
    public int Order => 40;

    public IEnumerable<Command> Create(CliContext context)
    {
        var env = new Option<string>("--env") { Description = "Task distribution, e.g. maze/test or kc/test (see `telos env list`)", DefaultValueFactory = _ => "maze/test" };
        var seed = new Option<long>("--seed") { Description = "Level seed", DefaultValueFactory = _ => 0 };
        var parameters = new DistributionOptions();
        var objective = new Option<string>("--objective")
        {
            Description = "Objective card file (telos objective format), or a reference objective of the family: "
                + string.Join("; ", EnvironmentFamilies.All.Select(f => $"{f.Name}: {ObjectiveSources.References(f)}")),
            DefaultValueFactory = _ => "true",
        };
        var planner = new Option<string>("--planner") { Description = Planners.Choices(), DefaultValueFactory = _ => "bfs" };
        var sims = new Option<int>("--sims") { Description = "MCTS simulations per decision", DefaultValueFactory = _ => 64 };
        var discount = new Option<double>("--discount") { Description = "γ for vi and MCTS, in [0, 1)", DefaultValueFactory = _ => 0.99 };
        var horizon = new Option<int>("--horizon") { Description = "BFS depth limit (0 = the level's step limit)", DefaultValueFactory = _ => 0 };
        var searchSeed = new Option<ulong>("--search-seed") { Description = "Evaluation seed: the episode's search noise (MCTS) derives from it", DefaultValueFactory = _ => 0 };
        var tree = new Option<string?>("--tree") { Description = "Write the search tree of the decision that chose the first action as JSON to this file (bfs and the MCTS planners; astar, dijkstra and vi have no tree and write an empty node list)" };

        var plan = new Command("plan", "Plan through a level with an objective: draw the path and explain each step in the objective's terms");
        foreach (var option in new Option[] { env, seed, objective, planner, sims, discount, horizon, searchSeed, tree })
        {
            plan.Options.Add(option);
        }
        parameters.AddTo(plan);
        plan.SetAction(result => Plan(context, CliContext.Json(result), new LevelPlanRequest(
            result.GetValue(env)!, parameters.Read(result), result.GetValue(seed), result.GetValue(objective)!, result.GetValue(planner)!,
            new PlanBudget(result.GetValue(sims), result.GetValue(horizon), result.GetValue(discount), result.GetValue(searchSeed))),
            result.GetValue(tree)));

        var benchPlanner = new Option<string>("--planner") { Description = Planners.Choices(searchOnly: true), DefaultValueFactory = _ => "gumbel" };
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

    private static int Plan(CliContext context, bool json, LevelPlanRequest request, string? treePath)
    {
        var outcome = LevelPlans.Plan(request, keepTree: treePath is not null);
        if (treePath is not null)
        {
            AtomicFile.WriteAllText(treePath, outcome.FirstTree!.ToJson());
        }
        var record = outcome.Record;
        if (json)
        {
            context.WriteLine(JsonSerializer.Serialize(new
            {
                env = request.Distribution,
                parameters = request.Parameters.ToString(),
                seed = request.LevelSeed,
                level = outcome.Level,
                planner = request.Planner,
                objective = outcome.ObjectiveLabel,
                goal = outcome.GoalName,
                proxy_goal = outcome.ProxyName,
                steps = record.Steps,
                decisions = outcome.Decisions,
                success = record.Success,
                proxy = record.Proxy,
                ending = record.Ending,
                halted = record.Halted,
                truncated = record.Truncated,
                @return = record.Return,
                cells = outcome.Cells?.Select(c => new[] { c.X, c.Y }),
                actions = outcome.Actions,
                ascii = outcome.Ascii,
                trace = outcome.Trace.ToJsonObject(),
            }));
            return ExitCodes.Success;
        }

        var console = context.Console;
        console.MarkupLine($"[bold]{Markup.Escape(outcome.Level)}[/]  planner [bold]{Markup.Escape(request.Planner)}[/]  objective [bold]{Markup.Escape(outcome.ObjectiveLabel)}[/]");
        context.WriteLine(outcome.Ascii.TrimEnd('\n'));
        var ending = record.Success ? $"[green]reached the goal ({Markup.Escape(outcome.GoalName)})[/]"
            : record.Proxy ? $"[yellow]ended on the proxy ({Markup.Escape(outcome.ProxyName ?? "")})[/]"
            : record.Truncated ? "[red]hit the step limit[/]"
            : $"[yellow]ended elsewhere ({Markup.Escape(record.Ending)})[/]";
        console.MarkupLine($"{ending} after {record.Steps} steps ({outcome.Decisions} decisions){(record.Halted ? ", then halted" : "")}");
        context.WriteLine(outcome.Trace.Render().TrimEnd('\n'));
        return ExitCodes.Success;
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
