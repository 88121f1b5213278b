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
        var demo = new Command("demo", "Learn an objective on maze/train, watch a planner pursue it on maze/test, see the warning, fix it, retarget it")
        {
            seedOption, plannerOption, levelsOption,
        };
        demo.SetAction(result =>
        {
            var config = ConfigFile.Parse(MisgeneralizationDemo.DefaultConfig, "telos demo (embedded experiments/demo.toml)");
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

    private static void Print(CliContext context, DemoResults results, string directory)
    {
        var console = context.Console;
        console.Write(new Rule("[bold]1. The objective learned on maze/train[/] (cheese always in the top-right corner)").LeftJustified());
        console.WriteLine(results.LearnedCard);
        console.Write(new Rule("[bold]2. A hard-coded planner pursues it on maze/test[/] (cheese anywhere)").LeftJustified());
        console.WriteLine(results.ExamplePaths);
        console.Write(new Rule("[bold]3. Before and after[/] — EPIC to the true reward is the zero-rollout warning").LeftJustified());
        var table = new Table()
            .AddColumn("objective")
            .AddColumn("goal")
            .AddColumn(new TableColumn("success").RightAligned())
            .AddColumn(new TableColumn("corner (proxy)").RightAligned())
            .AddColumn(new TableColumn("mean steps").RightAligned())
            .AddColumn(new TableColumn("EPIC train").RightAligned())
            .AddColumn(new TableColumn("EPIC test").RightAligned());
        foreach (var r in results.Rows)
        {
            table.AddRow(Markup.Escape(r.Objective), r.Goal, $"{r.Success:P0}", $"{r.Corner:P0}", $"{r.MeanSteps:F1}",
                MisgeneralizationDemo.Num(r.EpicTrain), MisgeneralizationDemo.Num(r.EpicTest));
        }
        console.Write(table);
        console.Write(new Rule("[bold]4. The objective after goal regression[/]").LeftJustified());
        console.WriteLine(results.RegressedCard);
        console.MarkupLine($"Artefacts (cards, paths, metrics, report): [link]{Markup.Escape(directory)}[/]");
    }
}
