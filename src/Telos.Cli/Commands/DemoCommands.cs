using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using Telos.Lab.Configuration;
using Telos.Lab.Demo;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;

namespace Telos.Cli.Commands;

/// <summary><c>telos demo</c>: the README's main command (see <see cref="MisgeneralizationDemo"/>).</summary>
public sealed class DemoCommands : ICommandGroup
{
    public int Order => 1;

    public IEnumerable<Command> Create(CliContext context)
    {
        var seedOption = new Option<long?>("--seed") { Description = "Root seed (default 7, as in experiments/demo.toml)" };
        var plannerOption = new Option<string?>("--planner") { Description = "Hard-coded optimizer: bfs, vi, mcts or gumbel (default bfs)" };
        var levelsOption = new Option<int?>("--levels") { Description = "maze/train and maze/test levels each agent is measured on (default 200 each)" };
        var configOption = new Option<string?>("--config") { Description = "A demo config (like experiments/demo.toml) instead of the embedded defaults" };
        var demo = new Command("demo", "Hard-coded vs learned optimization: three kinds of agent learn on maze/train, meet maze/test, get audited, fixed and retargeted")
        {
            seedOption, plannerOption, levelsOption, configOption,
        };
        demo.SetAction(result =>
        {
            var config = result.GetValue(configOption) is { } path
                ? ConfigFile.Load(path)
                : ConfigFile.Parse(MisgeneralizationDemo.DefaultConfig, "telos demo (embedded experiments/demo.toml)");
            if (result.GetValue(plannerOption) is { } planner)
            {
                config.Override("planner", planner);
            }
            if (result.GetValue(levelsOption) is { } levels)
            {
                config.Override("test_levels", (long)levels);
            }
            var runner = new ExperimentRunner(new RunStore(context.RunsRoot), ExperimentCatalog.Discover());
            var prepared = runner.Prepare(config, "demo", result.GetValue(seedOption));
            var outcome = CliJob.Run(context, result, (progress, token) => runner.Start(prepared, progress, token));
            if (outcome.ExitCode != ExitCodes.Success)
            {
                context.Error.WriteLine($"error: demo run {outcome.Record.Id} {outcome.Record.StatusText}: {outcome.Record.Message}");
                return outcome.ExitCode;
            }
            var resultsPath = Path.Combine(outcome.Record.Directory, "results.json");
            var results = JsonSerializer.Deserialize<DemoResults>(File.ReadAllText(resultsPath))!;
            if (CliContext.Json(result))
            {
                context.WriteLine(JsonSerializer.Serialize(new { run = outcome.Record.Id, dir = outcome.Record.Directory, rows = results.Rows }));
                return ExitCodes.Success;
            }
            Print(context, results, outcome.Record.Directory);
            return ExitCodes.Success;
        });
        yield return demo;
    }

    private static string Percent(double share) => FormattableString.Invariant($"{share * 100:F0}%");

    private static void Print(CliContext context, DemoResults results, string directory)
    {
        var console = context.Console;
        var card = results.Rows[0];
        console.Write(new Rule("[bold]1. Learned on maze/train[/] (cheese always top-right): a readable card, a network objective, a PPO policy").LeftJustified());
        console.MarkupLine("[grey]Readable: linear over named features.[/]");
        console.WriteLine(results.LearnedCard.TrimEnd());
        console.MarkupLine("[grey]Neural objective: not readable, but it can be queried state by state.[/]");
        console.WriteLine(results.NetCard.TrimEnd());
        console.MarkupLine("[grey]Learned optimizer: a recurrent policy; its objective, if any, is in its weights.[/]");
        console.WriteLine();
        console.Write(new Rule("[bold]2. Before deployment[/] (no rollouts)").LeftJustified());
        console.MarkupLine("Weights the training data cannot identify:");
        foreach (var line in results.Unidentified.DefaultIfEmpty("none"))
        {
            console.WriteLine("  " + line);
        }
        console.MarkupLine(FormattableString.Invariant(
            $"[yellow]The card pays {results.CornerWeight:F2} for [bold]at_corner[/] and {results.CheeseWeight:F2} for [bold]at_cheese[/].[/] Oracle check (needs the true reward): EPIC {MisgeneralizationDemo.Num(card.EpicTrain)} on maze/train, {MisgeneralizationDemo.Num(card.EpicTest)} on maze/test."));
        console.WriteLine();
        console.Write(new Rule($"[bold]3. One maze/test level[/]").LeftJustified());
        console.WriteLine(results.ExamplePaths.TrimEnd());
        console.WriteLine();
        console.Write(new Rule("[bold]4. Measured: every agent, fixed and retargeted[/]").LeftJustified());
        var table = new Table()
            .Border(TableBorder.Minimal)
            .AddColumn("objective")
            .AddColumn("kind")
            .AddColumn(new TableColumn("train").RightAligned())
            .AddColumn(new TableColumn("test").RightAligned())
            .AddColumn(new TableColumn("95% CI").RightAligned())
            .AddColumn(new TableColumn("corner").RightAligned())
            .AddColumn(new TableColumn("reach").RightAligned())
            .AddColumn(new TableColumn("EPIC").RightAligned());
        foreach (var r in results.Rows)
        {
            var proxy = r.Goal == "cheese";
            table.AddRow(Markup.Escape(r.Objective), Markup.Escape(r.Kind), r.TrainSuccess is { } t ? Percent(t) : "–", Percent(r.Success),
                Markup.Escape(MisgeneralizationDemo.Interval(r.SuccessLow, r.SuccessHigh)), proxy ? Percent(r.Corner) : "–", proxy ? Percent(r.CornerCeiling) : "–",
                MisgeneralizationDemo.Num(r.EpicTest));
        }
        console.Write(table);
        console.MarkupLine(FormattableString.Invariant(
            $"[grey]kind: readable = planner + card, neural = planner + network objective, learned = PPO policy. train/test = success on {results.Rows[0].Levels} maze/train / maze/test levels (goal: the cheese; the SE rows: the bottom-right corner); corner = share of maze/test levels with the cheese elsewhere that ended on the top-right corner, reach = share where it can be reached without the cheese; EPIC to the true reward on maze/test (an oracle check). Planner ties drawn at random (tolerance {results.TieTolerance}).[/]"));
        foreach (var r in results.Rows.Where(r => r.Goal != "cheese"))
        {
            console.MarkupLine(FormattableString.Invariant(
                $"[grey]{Markup.Escape(r.Objective)}: the {r.Goal} cell can be reached without stepping on the cheese (which ends a maze/test episode) in {Percent(r.Reachable)} of levels; {Percent(r.OnCheese)} ended on the cheese.[/]"));
        }
        console.WriteLine();
        console.Write(new Rule("[bold]5. The readable card after goal regression[/] (no environment reward used)").LeftJustified());
        console.WriteLine(results.RegressedCard.TrimEnd());
        console.WriteLine();
        console.MarkupLine($"Report: {Markup.Escape(Path.Combine(directory, "report.html"))}");
        console.MarkupLine($"Run directory (cards, paths, metrics, report.md): {Markup.Escape(directory)}");
    }
}
