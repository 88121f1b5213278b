using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Telos.Environments;
using Telos.Imaging;
using Telos.IO;

namespace Telos.Cli.Commands;

/// <summary><c>telos env list|show|bench</c>: the task distributions, one level, batch stepping speed.</summary>
public sealed class EnvCommands : ICommandGroup
{
    public int Order => 10;

    public IEnumerable<Command> Create(CliContext context)
    {
        var env = new Command("env", "Environments and task distributions (maze, keys & chests)");
        env.Subcommands.Add(List(context));
        env.Subcommands.Add(Show(context));
        env.Subcommands.Add(Bench(context));
        env.Subcommands.Add(Check(context));
        yield return env;
    }

    private static Command List(CliContext context)
    {
        var list = new Command("list", "List the task distributions");
        list.SetAction(result =>
        {
            if (CliContext.Json(result))
            {
                context.WriteLine(JsonSerializer.Serialize(TaskDistributions.All.Select(d => new { name = d.Name, family = d.Family, summary = d.Summary })));
                return ExitCodes.Success;
            }
            var table = new Table().AddColumn("distribution").AddColumn("family").AddColumn("what it draws");
            foreach (var d in TaskDistributions.All)
            {
                table.AddRow(Markup.Escape(d.Name), Markup.Escape(d.Family), Markup.Escape(d.Summary));
            }
            context.Console.Write(table);
            return ExitCodes.Success;
        });
        return list;
    }

    private static Command Show(CliContext context)
    {
        var name = new Argument<string>("distribution") { Description = "A task distribution, e.g. maze/test (see `telos env list`)" };
        var seed = new Option<long>("--seed") { Description = "Level seed (0 or more)", DefaultValueFactory = _ => 0 };
        var size = new Option<int?>("--size") { Description = "Maze: odd side 3..25 (default 13). Keys & chests: room side 3..25 (default 9)" };
        var region = new Option<int>("--region") { Description = "maze/train: side of the top-right cheese region (1 = corner)", DefaultValueFactory = _ => 1 };
        var far = new Option<int?>("--min-corner-distance") { Description = "maze/far: minimum path distance from the corner (default: size)" };
        var minority = new Option<int>("--max-minority") { Description = "kc: largest minority count m (the majority is 2m)", DefaultValueFactory = _ => KeysAndChestsDistribution.DefaultMaxMinority };
        var png = new Option<string?>("--png") { Description = "Also write the start state as a PNG image to this file" };
        var cellPixels = new Option<int>("--cell-pixels") { Description = "Pixels per cell in the PNG", DefaultValueFactory = _ => 12 };
        var show = new Command("show", "Print one level (ASCII, or JSON with --json) and its start-state features") { name };
        foreach (var option in new Option[] { seed, size, region, far, minority, png, cellPixels })
        {
            show.Options.Add(option);
        }
        show.SetAction(result =>
        {
            var distribution = result.GetValue(name)!;
            var family = TaskDistributions.FamilyOf(distribution);
            var pixels = result.GetValue(cellPixels);
            if (pixels is < 2 or > 64)
            {
                throw new TelosInputException($"--cell-pixels {pixels} is not allowed; use 2 to 64");
            }
            LevelView view = family switch
            {
                "maze" => MazeView(TaskDistributions.Maze(distribution, result.GetValue(size) ?? MazeDistribution.DefaultSize, result.GetValue(region), result.GetValue(far)).Level(result.GetValue(seed)), pixels),
                _ => KeysAndChestsView(TaskDistributions.KeysAndChests(distribution, result.GetValue(size) ?? KeysAndChestsDistribution.DefaultSize, result.GetValue(minority)).Level(result.GetValue(seed)), pixels),
            };
            var pngPath = result.GetValue(png);
            if (pngPath is not null)
            {
                AtomicFile.WriteAllBytes(pngPath, view.Image.ToPng());
            }
            if (CliContext.Json(result))
            {
                context.WriteLine(JsonSerializer.Serialize(new
                {
                    distribution,
                    seed = result.GetValue(seed),
                    provenance = view.Provenance,
                    ascii = view.Ascii,
                    details = view.Details,
                    features = view.Features,
                }));
            }
            else
            {
                context.WriteLine(view.Provenance);
                context.Console.Profile.Out.Writer.Write(view.Ascii);
                context.WriteLine(string.Join("  ", view.Details.Select(kv => $"{kv.Key}={kv.Value}")));
                context.WriteLine(string.Join("  ", view.Features.Select(kv => $"{kv.Key}={kv.Value.ToString("G4", CultureInfo.InvariantCulture)}")));
                if (pngPath is not null)
                {
                    context.WriteLine("wrote " + pngPath);
                }
            }
            return ExitCodes.Success;
        });
        return show;
    }

    private static Command Bench(CliContext context)
    {
        var env = new Argument<string>("env") { Description = "Environment family: maze or kc" };
        var batch = new Option<int>("--batch") { Description = "Number of environments stepped together", DefaultValueFactory = _ => 1024 };
        var size = new Option<int?>("--size") { Description = "Maze side (default 13) or room side (default 9)" };
        var steps = new Option<int>("--steps") { Description = "Batch steps per timed repeat", DefaultValueFactory = _ => 2000 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats; the median is printed", DefaultValueFactory = _ => 5 };
        var bench = new Command("bench", "Measure batch stepping speed (environment steps per second, one thread), with and without one-hot observations") { env };
        foreach (var option in new Option[] { batch, size, steps, repeats })
        {
            bench.Options.Add(option);
        }
        bench.SetAction(result =>
        {
            var family = result.GetValue(env)!;
            var n = result.GetValue(batch);
            var batchSteps = result.GetValue(steps);
            var times = result.GetValue(repeats);
            if (n < 1 || batchSteps < 1 || times < 1)
            {
                throw new TelosInputException($"--batch, --steps and --repeats must be at least 1 (got {n}, {batchSteps}, {times})");
            }
            BatchThroughput.Result plain, encoded;
            switch (family)
            {
                case "maze":
                    var maze = TaskDistributions.Maze("maze/test", result.GetValue(size) ?? MazeDistribution.DefaultSize);
                    plain = BatchThroughput.Maze(maze, n, encodeObservations: false, batchSteps, times);
                    encoded = BatchThroughput.Maze(maze, n, encodeObservations: true, batchSteps, times);
                    break;
                case "kc":
                    var kc = TaskDistributions.KeysAndChests("kc/train", result.GetValue(size) ?? KeysAndChestsDistribution.DefaultSize);
                    plain = BatchThroughput.Generic<KeysAndChestsState>(kc, n, encodeObservations: false, batchSteps, times);
                    encoded = BatchThroughput.Generic<KeysAndChestsState>(kc, n, encodeObservations: true, batchSteps, times);
                    break;
                default:
                    throw new TelosInputException($"unknown environment '{family}'; known: maze, kc");
            }
            if (CliContext.Json(result))
            {
                context.WriteLine(JsonSerializer.Serialize(new
                {
                    env = family,
                    batch = n,
                    steps_per_second = Math.Round(plain.StepsPerSecond),
                    encoded_steps_per_second = Math.Round(encoded.StepsPerSecond),
                    steps_per_cpu_second = Math.Round(plain.StepsPerCpuSecond),
                    encoded_steps_per_cpu_second = Math.Round(encoded.StepsPerCpuSecond),
                }));
            }
            else
            {
                var table = new Table().AddColumn("env").AddColumn("batch").AddColumn("observations").AddColumn("steps/s (wall)").AddColumn("steps/s (CPU time)");
                foreach (var (label, r) in new[] { ("none", plain), ("one-hot", encoded) })
                {
                    table.AddRow(Markup.Escape(family), n.ToString(CultureInfo.InvariantCulture), label, r.StepsPerSecond.ToString("N0", CultureInfo.InvariantCulture), r.StepsPerCpuSecond.ToString("N0", CultureInfo.InvariantCulture));
                }
                context.Console.Write(table);
                context.WriteLine($"medians of {times} repeats of {batchSteps} batch steps; random actions; one thread");
            }
            return ExitCodes.Success;
        });
        return bench;
    }

    private static Command Check(CliContext context)
    {
        var name = new Argument<string>("distribution") { Description = "A task distribution, e.g. maze/test" };
        var levels = new Option<int>("--levels") { Description = "How many levels (seeds 0..n−1) to check", DefaultValueFactory = _ => 20 };
        var size = new Option<int?>("--size") { Description = "Maze or room side" };
        var check = new Command("check", "Run the environment checker (determinism, purity, shapes, reward bounds, step limit) over levels of a distribution") { name, levels, size };
        check.SetAction(result =>
        {
            var distribution = result.GetValue(name)!;
            var count = result.GetValue(levels);
            if (count < 1)
            {
                throw new TelosInputException($"--levels {count} must be at least 1");
            }
            var reports = new List<EnvironmentCheckReport>();
            for (var seed = 0; seed < count; seed++)
            {
                reports.Add(TaskDistributions.FamilyOf(distribution) == "maze"
                    ? EnvironmentChecker.Check(TaskDistributions.Maze(distribution, result.GetValue(size) ?? MazeDistribution.DefaultSize).Level(seed), 0f, Maze.CheeseReward, (ulong)seed)
                    : EnvironmentChecker.Check(TaskDistributions.KeysAndChests(distribution, result.GetValue(size) ?? KeysAndChestsDistribution.DefaultSize).Level(seed), 0f, KeysAndChests.ChestReward, (ulong)seed));
            }
            var failures = reports.SelectMany((r, seed) => r.Failures.Select(f => $"seed {seed}: {f}")).ToList();
            var steps = reports.Sum(r => r.StepsChecked);
            if (CliContext.Json(result))
            {
                context.WriteLine(JsonSerializer.Serialize(new { distribution, levels = count, steps_checked = steps, passed = failures.Count == 0, failures }));
            }
            else
            {
                context.WriteLine(failures.Count == 0 ? $"{distribution}: {count} levels, {steps} transitions checked, all passed" : $"{distribution}: {failures.Count} problem(s)");
                foreach (var failure in failures)
                {
                    context.WriteLine("  " + failure);
                }
            }
            return failures.Count == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return check;
    }

    private sealed record LevelView(string Provenance, string Ascii, IReadOnlyDictionary<string, object> Details, IReadOnlyDictionary<string, double> Features, RgbImage Image);

    private static LevelView MazeView(Maze maze, int pixels)
    {
        var details = new Dictionary<string, object>
        {
            ["size"] = maze.Size,
            ["start"] = Coordinates(maze.Start, maze.Size),
            ["cheese"] = Coordinates(maze.Cheese, maze.Size),
            ["step_limit"] = maze.StepLimit,
            ["open_cells"] = maze.StateCount,
        };
        return new LevelView(maze.Provenance ?? "maze", maze.Render(maze.Initial), details, Features(maze, maze.Initial), EnvironmentImages.Maze(maze, maze.Initial, pixels));
    }

    private static LevelView KeysAndChestsView(KeysAndChests level, int pixels)
    {
        var details = new Dictionary<string, object>
        {
            ["size"] = level.Size,
            ["start"] = Coordinates(level.Start, level.Size),
            ["keys"] = level.Keys.Length,
            ["chests"] = level.Chests.Length,
            ["step_limit"] = level.StepLimit,
        };
        return new LevelView(level.Provenance ?? "kc", level.Render(level.Initial), details, Features(level, level.Initial), EnvironmentImages.KeysAndChests(level, level.Initial, pixels));
    }

    private static Dictionary<string, double> Features<TState>(IEnvironment<TState> environment, TState state)
        where TState : struct
    {
        var values = new double[environment.Features.Count];
        environment.WriteFeatures(state, values);
        return environment.Features.Names.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => values[p.i]);
    }

    // Procgen-style (x from the left, y from the bottom), matching the x and y features.
    private static string Coordinates(int cell, int size) => $"({cell % size},{size - 1 - cell / size})";
}
