using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Telos.Environments;
using Telos.IO;

namespace Telos.Cli.Commands;

/// <summary><c>telos env list|show|bench|check</c>: the registered families' distributions, one level, batch stepping speed, the checker.</summary>
public sealed class EnvCommands : ICommandGroup
{
    public int Order => 10;

    public IEnumerable<Command> Create(CliContext context)
    {
        var env = new Command("env", $"Environments and task distributions ({string.Join(", ", EnvironmentFamilies.All.Select(f => f.Name))})");
        env.Subcommands.Add(List(context));
        env.Subcommands.Add(Show(context));
        env.Subcommands.Add(Bench(context));
        env.Subcommands.Add(Check(context));
        yield return env;
    }

    private static Command List(CliContext context)
    {
        var list = new Command("list", "List the task distributions of every registered family, with their parameters");
        list.SetAction(result =>
        {
            var distributions = EnvironmentFamilies.All.SelectMany(f => f.Distributions.Select(d => (Family: f, Distribution: d))).ToArray();
            if (CliContext.Json(result))
            {
                context.WriteLine(JsonSerializer.Serialize(distributions.Select(x => new
                {
                    name = x.Distribution.Name,
                    family = x.Family.Name,
                    summary = x.Distribution.Summary,
                    parameters = x.Family.Parameters.Select(p => new { name = p.Name, description = p.Description, @default = p.Default, min = p.Min, max = p.Max }),
                })));
                return ExitCodes.Success;
            }
            var table = new Table().AddColumn("distribution").AddColumn("family").AddColumn("what it draws").AddColumn("parameters");
            foreach (var (family, d) in distributions)
            {
                table.AddRow(Markup.Escape(d.Name), Markup.Escape(d.Family), Markup.Escape(d.Summary), Markup.Escape(string.Join(", ", family.Parameters.Select(p => p.Name))));
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
        var parameters = new DistributionOptions();
        var png = new Option<string?>("--png") { Description = "Also write the start state as a PNG image to this file" };
        var cellPixels = new Option<int>("--cell-pixels") { Description = "Pixels per cell in the PNG", DefaultValueFactory = _ => 12 };
        var show = new Command("show", "Print one level (ASCII, or JSON with --json) and its start-state features") { name, seed, png, cellPixels };
        parameters.AddTo(show);
        show.SetAction(result =>
        {
            var distribution = result.GetValue(name)!;
            var pixels = result.GetValue(cellPixels);
            if (pixels is < 2 or > 64)
            {
                throw new TelosInputException($"--cell-pixels {pixels} is not allowed; use 2 to 64");
            }
            var view = LevelView.Of(distribution, parameters.Read(result), result.GetValue(seed), pixels);
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
        var env = new Argument<string>("env") { Description = "A task distribution (maze/test) or a family (maze: its first distribution)" };
        var batch = new Option<int>("--batch") { Description = "Number of environments stepped together", DefaultValueFactory = _ => 1024 };
        var parameters = new DistributionOptions();
        var steps = new Option<int>("--steps") { Description = "Batch steps per timed repeat", DefaultValueFactory = _ => 2000 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats; the median is printed", DefaultValueFactory = _ => 5 };
        var scalar = new Option<bool>("--scalar") { Description = "Force a family's scalar loop instead of its SIMD path where it has one (maze: AVX2)" };
        var bench = new Command("bench", "Measure batch stepping speed (environment steps per second, one thread), with and without one-hot observations") { env, batch, steps, repeats, scalar };
        parameters.AddTo(bench);
        bench.SetAction(result =>
        {
            var given = result.GetValue(env)!;
            var distribution = given.Contains('/', StringComparison.Ordinal) ? given : FirstDistribution(given);
            var n = result.GetValue(batch);
            var batchSteps = result.GetValue(steps);
            var times = result.GetValue(repeats);
            if (n < 1 || batchSteps < 1 || times < 1)
            {
                throw new TelosInputException($"--batch, --steps and --repeats must be at least 1 (got {n}, {batchSteps}, {times})");
            }
            var values = parameters.Read(result);
            var vectorized = !result.GetValue(scalar);
            var plain = BatchThroughput.Family(distribution, values, n, encodeObservations: false, batchSteps, times, vectorized);
            var encoded = BatchThroughput.Family(distribution, values, n, encodeObservations: true, batchSteps, times, vectorized);
            if (CliContext.Json(result))
            {
                context.WriteLine(JsonSerializer.Serialize(new
                {
                    env = distribution,
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
                    table.AddRow(Markup.Escape(distribution), n.ToString(CultureInfo.InvariantCulture), label, r.StepsPerSecond.ToString("N0", CultureInfo.InvariantCulture), r.StepsPerCpuSecond.ToString("N0", CultureInfo.InvariantCulture));
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
        var parameters = new DistributionOptions();
        var check = new Command("check", "Run the environment checker (determinism, purity, shapes, reward bounds, step limit) over levels of a distribution") { name, levels };
        parameters.AddTo(check);
        check.SetAction(result =>
        {
            var distribution = result.GetValue(name)!;
            var count = result.GetValue(levels);
            if (count < 1)
            {
                throw new TelosInputException($"--levels {count} must be at least 1");
            }
            var reports = EnvironmentChecker.CheckDistribution(distribution, parameters.Read(result), count);
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

    private static string FirstDistribution(string family) => EnvironmentFamilies.Get(family).Distributions[0].Name;
}
