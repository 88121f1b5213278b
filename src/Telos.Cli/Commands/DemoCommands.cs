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
        var levelsOption = new Option<int?>("--levels") { Description = "maze/test levels each objective is planned on (default 200)" };
        var configOption = new Option<string?>("--config") { Description = "A demo config (like experiments/demo.toml) instead of the embedded defaults" };
        var demo = new Command("demo", "Learn an objective on maze/train, watch a planner pursue it on maze/test, see the warning, fix it, retarget it")
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
        var linear = results.Rows.First(r => r.Objective == "linear");
        console.Write(new Rule("[bold]1. Two objectives learned from the same maze/train data[/] (cheese always top-right)").LeftJustified());
        console.MarkupLine("[grey]Opaque: a network over one-hot observations.[/]");
        console.WriteLine(results.NetCard.TrimEnd());
        console.MarkupLine("[grey]Readable: linear over named features.[/]");
        console.WriteLine(results.LearnedCard.TrimEnd());
        console.MarkupLine(FormattableString.Invariant(
            $"[yellow]Before deployment:[/] the card pays {results.CornerWeight:F2} for [bold]at_corner[/] and {results.CheeseWeight:F2} for [bold]at_cheese[/]; EPIC to the true reward is {MisgeneralizationDemo.Num(linear.EpicTrain)} on maze/train states but {MisgeneralizationDemo.Num(linear.EpicTest)} on maze/test states."));
        console.WriteLine();
        console.Write(new Rule($"[bold]2. The hard-coded planner ({Markup.Escape(results.Planner)}) pursues each objective on maze/test[/]").LeftJustified());
        console.WriteLine(results.ExamplePaths.TrimEnd());
        console.WriteLine();
        console.Write(new Rule("[bold]3. Measured over maze/test levels[/]").LeftJustified());
        var table = new Table()
            .AddColumn("objective")
            .AddColumn("goal")
            .AddColumn(new TableColumn("success").RightAligned())
            .AddColumn(new TableColumn("corner").RightAligned())
            .AddColumn(new TableColumn("steps").RightAligned())
            .AddColumn(new TableColumn("EPIC train").RightAligned())
            .AddColumn(new TableColumn("EPIC test").RightAligned());
        foreach (var r in results.Rows)
        {
            table.AddRow(Markup.Escape(r.Objective), r.Goal, Percent(r.Success), r.Goal == "cheese" ? Percent(r.Corner) : "–", $"{r.MeanSteps:F1}",
                MisgeneralizationDemo.Num(r.EpicTrain), MisgeneralizationDemo.Num(r.EpicTest));
        }
        console.Write(table);
        var levels = results.Rows[0].Levels;
        console.MarkupLine(FormattableString.Invariant(
            $"[grey]{levels} levels per row; corner = share of levels (cheese elsewhere) that ended on the top-right corner. On maze/train the linear objective reaches the cheese in {Percent(results.TrainReference.Success)}.[/]"));
        foreach (var r in results.Rows.Where(r => r.Goal != "cheese"))
        {
            console.MarkupLine(FormattableString.Invariant(
                $"[grey]{Markup.Escape(r.Objective)}: the {r.Goal} cell is reachable without stepping on the cheese (which ends a maze/test episode) in {Percent(r.Reachable)} of levels; {Percent(r.OnCheese)} ended on the cheese.[/]"));
        }
        console.WriteLine();
        console.Write(new Rule("[bold]4. The readable objective after goal regression[/] (no environment reward used)").LeftJustified());
        console.WriteLine(results.RegressedCard.TrimEnd());
        console.WriteLine();
        console.MarkupLine($"Run directory (cards, paths, metrics, report): {Markup.Escape(directory)}");
    }
}
