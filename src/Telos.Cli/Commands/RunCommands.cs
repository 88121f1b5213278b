using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using Telos.Cluster;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;

namespace Telos.Cli.Commands;

/// <summary><c>telos run</c>, <c>telos resume</c>, <c>telos runs list|show</c> and <c>telos experiments</c>.</summary>
public sealed class RunCommands : ICommandGroup
{
    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public int Order => 10;

    public IEnumerable<Command> Create(CliContext context)
    {
        var configArgument = new Argument<string>("config") { Description = "TOML config file naming its experiment (experiment = \"...\")" };
        var seedOption = new Option<long?>("--seed") { Description = "Root seed; overrides the config's seed" };
        var nameOption = new Option<string?>("--name") { Description = "Run name (default: the config file's name)" };
        var setOption = new Option<string[]>("--set")
        {
            Description = "Override a config value, KEY=VALUE with a dotted key and a TOML value (repeatable), e.g. --set evaluation.test_problems=100",
            AllowMultipleArgumentsPerToken = false,
        };
        var jobsOption = new Option<int>("--jobs", "-j")
        {
            Description = "For a sweep: how many cells run at once, each in its own telos process",
            DefaultValueFactory = _ => 1,
        };
        var clusterOption = ClusterCommands.ClusterOption();
        var run = new Command("run", "Validate a config, create a run directory and run the experiment (a config with [sweep] runs its cells)") { configArgument, seedOption, nameOption, setOption, jobsOption, clusterOption };
        run.SetAction(result =>
        {
            var runner = Runner(context);
            // Everything is validated here, before any directory or index row exists.
            var prepared = runner.Prepare(result.GetValue(configArgument)!, result.GetValue(seedOption), result.GetValue(nameOption), result.GetValue(setOption));
            using var cluster = Cluster(context, result.GetValue(clusterOption), prepared.Sweep is not null);
            var sweep = Cells(result, jobsOption, cluster);
            return Execute(context, result, (progress, token) => runner.Start(prepared, progress, token, sweep));
        });
        yield return run;

        var idArgument = new Argument<string>("id") { Description = "Run id, short id, or a unique prefix of either" };
        var resumeJobsOption = new Option<int>("--jobs", "-j")
        {
            Description = "For a sweep: how many cells run at once, each in its own telos process",
            DefaultValueFactory = _ => 1,
        };
        var resumeClusterOption = ClusterCommands.ClusterOption();
        var resume = new Command("resume", "Continue an interrupted or failed run from its newest intact checkpoint (a sweep: rerun the cells not done)") { idArgument, resumeJobsOption, resumeClusterOption };
        resume.SetAction(result =>
        {
            var runner = Runner(context);
            var plan = runner.PlanResume(result.GetValue(idArgument)!);
            using var cluster = Cluster(context, result.GetValue(resumeClusterOption), plan.Prepared.Sweep is not null);
            var sweep = Cells(result, resumeJobsOption, cluster);
            foreach (var skipped in plan.Skipped)
            {
                context.Error.WriteLine($"warning: skipping damaged checkpoint {Path.GetFileName(skipped.SidecarPath)}: {skipped.Reason}");
            }
            if (plan.Skipped.Count > 0 && plan.From is { } from)
            {
                context.Error.WriteLine($"resuming from checkpoint step {from.Step}");
            }
            return Execute(context, result, (progress, token) => runner.Resume(plan, progress, token, sweep));
        });
        yield return resume;

        var cellDirectory = new Argument<string>("dir") { Description = "A sweep cell's directory, holding its config.toml" };
        var watchStdin = new Option<bool>("--watch-stdin") { Description = "Stop the cell when standard input closes (its sweep's process is gone)" };
        var cell = new Command("cell", "Run one sweep cell in its directory (what `telos run --jobs N` starts for each cell)") { cellDirectory, watchStdin };
        cell.SetAction(result =>
        {
            var runner = Runner(context);
            var dir = result.GetValue(cellDirectory)!;
            var outcome = CliJob.Run(context, result, (progress, token) =>
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
                if (result.GetValue(watchStdin))
                {
                    var watcher = new Thread(() =>
                    {
                        using var input = Console.OpenStandardInput();
                        var buffer = new byte[64];
                        while (input.Read(buffer) > 0)
                        {
                        }
                        stop.Cancel();
                    }) { IsBackground = true };
                    watcher.Start();
                }
                return runner.RunCell(dir, progress, stop.Token);
            });
            context.WriteLine($"cell {outcome.Record.Id} {outcome.Record.StatusText}{(outcome.Record.Message is null ? "" : ": " + outcome.Record.Message)}");
            return outcome.ExitCode;
        });
        yield return cell;

        var runs = new Command("runs", "List and inspect runs");
        var list = new Command("list", "List runs (oldest first)");
        list.SetAction(result => List(context, CliContext.Json(result)));
        runs.Subcommands.Add(list);
        var showId = new Argument<string>("id") { Description = "Run id, short id, or a unique prefix of either" };
        var show = new Command("show", "Show a run: status, config, last metrics, checkpoints") { showId };
        show.SetAction(result => Show(context, result.GetValue(showId)!, CliContext.Json(result)));
        runs.Subcommands.Add(show);
        yield return runs;

        var experiments = new Command("experiments", "List the experiment kinds a config can name");
        experiments.SetAction(result =>
        {
            var catalog = ExperimentCatalog.Discover();
            if (CliContext.Json(result))
            {
                context.WriteLine(JsonSerializer.Serialize(catalog.All.Select(e => new { kind = e.Kind, description = e.Description })));
            }
            else
            {
                var table = new Table().AddColumn("kind").AddColumn("description");
                foreach (var e in catalog.All)
                {
                    table.AddRow(Markup.Escape(e.Kind), Markup.Escape(e.Description));
                }
                context.Console.Write(table);
            }
            return ExitCodes.Success;
        });
        yield return experiments;
    }

    /// <summary>
    /// Sweep cells run as child processes of this same <c>telos</c> (<see cref="SelfLauncher"/>), or on the cluster
    /// when <c>--cluster</c> was given (then <c>--jobs</c>, unless given, is every slot of the cluster's silos).
    /// </summary>
    private static SweepExecution Cells(ParseResult result, Option<int> jobsOption, ClusterCellLauncher? cluster)
    {
        var jobs = result.GetValue(jobsOption);
        if (jobs < 1)
        {
            throw new TelosInputException($"--jobs: expected integer >= 1, got {jobs}");
        }
        if (cluster is not null)
        {
            return new SweepExecution(cluster, result.GetResult(jobsOption) is { Implicit: false } ? jobs : cluster.MaxJobs);
        }
        return new SweepExecution(SelfLauncher(jobs), jobs);
    }

    /// <summary>
    /// Cells as child processes of this same <c>telos</c>: the apphost when this process is one, else
    /// <c>dotnet Telos.Cli.dll</c> (under <c>dotnet run</c>, tests and the installed tool alike). A silo runs its cells so too.
    /// </summary>
    internal static ProcessCellLauncher SelfLauncher(int jobs)
    {
        var assembly = typeof(RunCommands).Assembly.Location;
        var process = Environment.ProcessPath ?? "dotnet";
        var self = Path.GetFileNameWithoutExtension(process);
        return self.Equals(Path.GetFileNameWithoutExtension(assembly), StringComparison.OrdinalIgnoreCase)
            ? new ProcessCellLauncher(process, [], jobs)
            : new ProcessCellLauncher(self.Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? process : "dotnet", [assembly], jobs);
    }

    /// <summary>The cluster of <c>--cluster CONFIG</c>, connected; null without the option.</summary>
    /// <exception cref="TelosInputException">The config is bad, the cluster cannot be reached, or the run is not a sweep.</exception>
    private static ClusterCellLauncher? Cluster(CliContext context, string? configPath, bool isSweep)
    {
        if (configPath is null)
        {
            return null;
        }
        var config = ClusterConfig.Load(configPath);
        if (!isSweep)
        {
            throw new TelosInputException($"--cluster {configPath}: the config has no [sweep] table; a cluster runs a sweep's cells");
        }
        return ClusterCellLauncher.Connect(config, TimeSpan.FromSeconds(20), line => context.Error.WriteLine("warning: " + line));
    }

    internal static ExperimentRunner Runner(CliContext context) => new(new RunStore(context.RunsRoot), ExperimentCatalog.Discover());

    /// <summary>Runs a run-store job with progress and prints how it ended (<c>--json</c>: id, status, dir, exit code, message, last metrics).</summary>
    internal static int Execute(CliContext context, ParseResult result, Func<IProgress<ProgressUpdate>, CancellationToken, RunOutcome> job)
    {
        var json = CliContext.Json(result);
        var outcome = CliJob.Run(context, result, job);
        var record = outcome.Record;
        var last = new RunDirectoryView(record).LastMetrics();
        if (json)
        {
            context.WriteLine(JsonSerializer.Serialize(new { id = record.Id, status = record.StatusText, dir = record.Directory, exit_code = outcome.ExitCode, message = record.Message, last_metrics = last }, JsonOptions));
        }
        else
        {
            context.WriteLine($"run {record.Id} {record.StatusText}{(record.Message is null ? "" : ": " + record.Message)}");
            context.WriteLine($"  dir {record.Directory}");
            if (last is not null)
            {
                context.WriteLine($"  step {last.Step}: {FormatValues(last.Values)}");
            }
            var report = Path.Combine(record.Directory, "report.html");
            if (File.Exists(report))
            {
                context.WriteLine($"  report {report}");
            }
            if (record.Status == RunStatus.Failed)
            {
                context.WriteLine($"  log (with the stack trace of an unexpected error) {Path.Combine(record.Directory, "log.txt")}");
            }
            if (record.Status is RunStatus.Interrupted or RunStatus.Failed)
            {
                context.WriteLine($"  continue with: telos resume {record.ShortId}");
            }
        }
        return outcome.ExitCode;
    }

    private static int List(CliContext context, bool json)
    {
        var runs = new RunStore(context.RunsRoot).List();
        if (json)
        {
            context.WriteLine(JsonSerializer.Serialize(runs.Select(Summary), JsonOptions));
            return ExitCodes.Success;
        }
        if (runs.Count == 0)
        {
            context.WriteLine($"no runs in {context.RunsRoot}");
            return ExitCodes.Success;
        }
        // Short ids and no kind column keep the table within 80 columns (`runs show` and --json have the rest).
        var table = new Table().Border(TableBorder.Minimal)
            .AddColumn("id")
            .AddColumn("name")
            .AddColumn("status")
            .AddColumn(new TableColumn("seed").RightAligned())
            .AddColumn("started (UTC)");
        foreach (var run in runs)
        {
            table.AddRow(
                run.ShortId,
                Markup.Escape(run.Name),
                StatusMarkup(run),
                run.Seed.ToString(CultureInfo.InvariantCulture),
                run.StartedUtc.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture));
        }
        context.Console.Write(table);
        return ExitCodes.Success;
    }

    private static int Show(CliContext context, string id, bool json)
    {
        var record = new RunStore(context.RunsRoot).Find(id);
        var view = new RunDirectoryView(record);
        var last = view.LastMetrics();
        var checkpoints = view.Checkpoints();
        var config = view.Config();
        if (json)
        {
            context.WriteLine(JsonSerializer.Serialize(
                new
                {
                    run = Summary(record),
                    config,
                    last_metrics = last,
                    checkpoints = checkpoints.Select(c => new { step = c.Step, bytes = c.Bytes, sha256 = c.Sha256, file = c.TensorPath }),
                },
                JsonOptions));
            return ExitCodes.Success;
        }
        var table = new Table().AddColumn("field").AddColumn("value").HideHeaders();
        table.AddRow("id", Markup.Escape(record.Id));
        table.AddRow("kind", Markup.Escape(record.Kind));
        table.AddRow("status", StatusMarkup(record) + (record.Message is null ? "" : ": " + Markup.Escape(record.Message)));
        table.AddRow("seed", record.Seed.ToString(CultureInfo.InvariantCulture));
        table.AddRow("config hash", record.ConfigHash);
        table.AddRow("git commit", Markup.Escape(record.GitCommit));
        table.AddRow("started (UTC)", Time(record.StartedUtc));
        table.AddRow("ended (UTC)", record.EndedUtc is { } ended ? Time(ended) : "");
        table.AddRow("dir", Markup.Escape(record.Directory));
        table.AddRow("last metrics", last is null ? "none" : Markup.Escape($"step {last.Step}: {FormatValues(last.Values)}"));
        table.AddRow("checkpoints", checkpoints.Count == 0 ? "none" : Markup.Escape(string.Join(", ", checkpoints.Select(c => $"step {c.Step} ({c.Bytes} B)"))));
        context.Console.Write(table);
        if (config is not null)
        {
            context.Console.Write(new Panel(new Text(config.TrimEnd())).Header("config.toml"));
        }
        return ExitCodes.Success;
    }

    private static object Summary(RunRecord r) => new
    {
        id = r.Id,
        short_id = r.ShortId,
        name = r.Name,
        kind = r.Kind,
        status = r.StatusText,
        config_hash = r.ConfigHash,
        seed = r.Seed,
        git_commit = r.GitCommit,
        started_utc = r.StartedUtc,
        ended_utc = r.EndedUtc,
        dir = r.Directory,
        message = r.Message,
    };

    private static string StatusMarkup(RunRecord run) => run.Status switch
    {
        RunStatus.Completed => "[green]completed[/]",
        RunStatus.Failed => "[red]failed[/]",
        RunStatus.Interrupted => "[yellow]interrupted[/]",
        _ => Markup.Escape(run.StatusText),
    };

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string FormatValues(IReadOnlyDictionary<string, double> values) =>
        string.Join(", ", values.Select(v => $"{v.Key} {v.Value.ToString("G5", CultureInfo.InvariantCulture)}"));

    /// <summary>Read-only look at a run's files for printing (no writer, no TorchSharp).</summary>
    private sealed class RunDirectoryView(RunRecord record)
    {
        public MetricsRow? LastMetrics()
        {
            try
            {
                return RunFiles.ReadMetrics(record.Directory).LastOrDefault();
            }
            catch (IOException)
            {
                return null;
            }
        }

        public IReadOnlyList<CheckpointInfo> Checkpoints() => RunFiles.Checkpoints(record.Directory);

        public string? Config()
        {
            var path = Path.Combine(record.Directory, "config.toml");
            return File.Exists(path) ? File.ReadAllText(path) : null;
        }
    }
}
