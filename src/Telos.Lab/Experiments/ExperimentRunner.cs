using Telos.Lab.Configuration;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;

namespace Telos.Lab.Experiments;

/// <summary>A config that passed validation: nothing has been written yet.</summary>
/// <param name="Experiment">The experiment the config names.</param>
/// <param name="Config">The config, fully read.</param>
/// <param name="Settings">What the experiment's Configure returned.</param>
/// <param name="Name">The run name.</param>
/// <param name="Seed">The root seed.</param>
/// <param name="ResolvedToml">The resolved config (defaults filled), as written to <c>config.toml</c>.</param>
public sealed record PreparedRun(IExperiment Experiment, ConfigTable Config, object Settings, string Name, long Seed, string ResolvedToml)
{
    /// <summary>The config hash the run will be indexed under.</summary>
    public string ConfigHash => TomlHash.Of(ResolvedToml);

    /// <summary>The sweep's cells when the config declares <c>[sweep]</c> (the run is then a sweep of cell runs); null for a single run.</summary>
    public SweepPlan? Sweep { get; init; }
}

/// <summary>How the cells of a sweep run: the launcher (in this process, or child processes) and how many at once.</summary>
/// <param name="Launcher">Runs one cell.</param>
/// <param name="Jobs">Cells at once (capped by the launcher's <see cref="ICellLauncher.MaxJobs"/>).</param>
public sealed record SweepExecution(ICellLauncher Launcher, int Jobs);

/// <summary>A checkpoint a resume passed over, newest first.</summary>
/// <param name="SidecarPath">The sidecar's path.</param>
/// <param name="Reason">One line: why it cannot be resumed from (unreadable sidecar, truncated or corrupt tensors).</param>
public sealed record SkippedCheckpoint(string SidecarPath, string Reason);

/// <summary>What <see cref="ExperimentRunner.PlanResume"/> decided; nothing has been written yet.</summary>
/// <param name="Record">The run's index row.</param>
/// <param name="Prepared">Its config, validated again.</param>
/// <param name="From">The newest intact checkpoint, or null to start from scratch (the run has none).</param>
/// <param name="Skipped">Newer checkpoints that were damaged, newest first.</param>
public sealed record ResumePlan(RunRecord Record, PreparedRun Prepared, CheckpointInfo? From, IReadOnlyList<SkippedCheckpoint> Skipped);

/// <summary>How a run ended: its index row and the process exit code (0 completed, 1 failed or interrupted).</summary>
public sealed record RunOutcome(RunRecord Record, int ExitCode);

/// <summary>
/// Validates configs fully before touching disk, creates runs, runs experiments, records their status,
/// and resumes interrupted runs from their latest checkpoint.
/// </summary>
public sealed class ExperimentRunner
{
    /// <summary>The top-level key naming the experiment kind.</summary>
    public const string ExperimentKey = "experiment";

    /// <summary>The top-level key holding the root seed (default 0; <c>--seed</c> overrides it).</summary>
    public const string SeedKey = "seed";

    /// <summary>The top-level table that makes a config a sweep (<see cref="SweepPlan"/>).</summary>
    public const string SweepKey = SweepPlan.TableName;

    private readonly RunStore _store;
    private readonly ExperimentCatalog _catalog;

    public ExperimentRunner(RunStore store, ExperimentCatalog catalog)
    {
        _store = store;
        _catalog = catalog;
    }

    public RunStore Store => _store;

    /// <summary>
    /// Loads and validates a config file, after applying command-line <paramref name="assignments"/>
    /// (<c>key.path=value</c>, see <see cref="ConfigTable.Assign"/>; they are part of the run's resolved
    /// config.toml). The run name defaults to the file's stem.
    /// </summary>
    /// <exception cref="TelosInputException">One line naming file, line and key.</exception>
    public PreparedRun Prepare(string configPath, long? seedOverride = null, string? name = null, IReadOnlyList<string>? assignments = null)
    {
        var config = ConfigFile.Load(configPath);
        foreach (var assignment in assignments ?? [])
        {
            config.Assign(assignment);
        }
        return Prepare(config, name ?? Path.GetFileNameWithoutExtension(configPath), seedOverride);
    }

    /// <summary>Validates a parsed config: experiment kind, seed, the experiment's settings, no unknown keys, the run name.</summary>
    /// <exception cref="TelosInputException">One line naming file, line and key.</exception>
    public PreparedRun Prepare(ConfigTable config, string name, long? seedOverride = null)
    {
        var kind = config.RequireString(ExperimentKey, _catalog.Kinds);
        var experiment = _catalog.Find(kind)!;
        if (config.Contains(SweepKey))
        {
            return PrepareSweep(config, experiment, name, seedOverride);
        }
        if (seedOverride is { } overridden)
        {
            if (overridden < 0)
            {
                throw new TelosInputException($"--seed: expected integer >= 0, got {overridden}");
            }
            config.Override(SeedKey, overridden);
        }
        var seed = config.GetLong(SeedKey, 0, min: 0);
        var settings = experiment.Configure(config);
        config.EnsureAllKeysUsed();
        RunStore.ValidateName(name);
        return new PreparedRun(experiment, config, settings, name, seed, config.ToResolvedToml());
    }

    /// <summary>
    /// Creates the run directory and index row, then runs the experiment (or, for a sweep, its cells under
    /// <c>cells/</c> with <paramref name="sweep"/>; default: in this process, one at a time) and records how it ended.
    /// </summary>
    /// <exception cref="TelosInputException">The experiment hit bad input while running (the run is marked failed).</exception>
    public RunOutcome Start(PreparedRun prepared, IProgress<ProgressUpdate> progress, CancellationToken cancellationToken = default, SweepExecution? sweep = null)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        var run = _store.Create(prepared.Name, prepared.Experiment.Kind, prepared.ResolvedToml, prepared.Seed);
        return Execute(run, prepared, progress, cancellationToken, isResume: false, resumeFrom: null, sweep ?? InProcess());
    }

    /// <summary>
    /// Runs one sweep cell in <paramref name="directory"/>, which holds its <c>config.toml</c>: validates it, makes the
    /// directory a standalone run (its record in <c>run.json</c>, nothing written outside it), runs the experiment,
    /// and writes <c>results.json</c> from the last metrics row if the experiment declared no results of its own.
    /// </summary>
    /// <exception cref="TelosInputException">The config is missing or invalid (nothing is written), or the experiment hit bad input.</exception>
    public RunOutcome RunCell(string directory, IProgress<ProgressUpdate> progress, CancellationToken cancellationToken = default)
    {
        var configPath = Path.Combine(directory, "config.toml");
        if (!File.Exists(configPath))
        {
            throw new TelosInputException($"{configPath}: missing; a cell directory holds its config.toml");
        }
        var text = File.ReadAllText(configPath);
        var prepared = Prepare(ConfigFile.Parse(text, configPath), Path.GetFileName(Path.GetFullPath(directory)), seedOverride: null);
        if (prepared.Sweep is not null)
        {
            throw new TelosInputException($"{configPath}: a cell cannot itself be a sweep");
        }
        if (prepared.ResolvedToml != text)
        {
            throw new TelosInputException($"{configPath}: not a resolved config (a cell's config.toml is written by its sweep)");
        }
        var run = RunRecordFile.Create(directory, prepared.Name, prepared.Experiment.Kind, prepared.ResolvedToml, prepared.Seed);
        return Execute(run, prepared, progress, cancellationToken, isResume: false, resumeFrom: null, InProcess(), cell: true);
    }

    /// <summary>
    /// Checks everything a resume needs before anything is written: the run exists and is not completed or
    /// live, its config still validates and matches the indexed hash, and picks the newest intact checkpoint
    /// (sidecar readable, tensors file of the recorded size and SHA-256). Newer checkpoints that fail those
    /// checks are listed in <see cref="ResumePlan.Skipped"/> with the reason.
    /// </summary>
    /// <exception cref="TelosInputException">
    /// One line: unknown run, completed or live run, edited config (naming the keys that differ from <c>config.original.toml</c>), or checkpoints exist and none is intact.
    /// </exception>
    public ResumePlan PlanResume(string idOrPrefix)
    {
        var record = _store.Find(idOrPrefix);
        if (record.Status == RunStatus.Completed)
        {
            throw new TelosInputException($"run '{record.Id}' is completed; nothing to resume");
        }
        if (record.ProcessAlive)
        {
            throw new TelosInputException($"run '{record.Id}' is still running (pid {record.Pid})");
        }
        if (!Directory.Exists(record.Directory))
        {
            throw new TelosInputException($"run '{record.Id}': directory {record.Directory} is missing");
        }
        var configPath = Path.Combine(record.Directory, "config.toml");
        var prepared = Prepare(ConfigFile.Load(configPath), record.Name, seedOverride: null);
        if (prepared.Experiment.Kind != record.Kind || prepared.ConfigHash != record.ConfigHash)
        {
            var original = Path.Combine(record.Directory, RunStore.OriginalConfigFile);
            var keys = File.Exists(original) ? ResolvedConfigDiff.Keys(File.ReadAllText(original), prepared.ResolvedToml) : [];
            var which = keys.Count > 0 ? $"; differing keys: {string.Join("; ", keys)}" : "";
            throw new TelosInputException($"{configPath}: config changed since the run started (hash {prepared.ConfigHash}, index has {record.ConfigHash}{which}); start a new run instead");
        }
        if (prepared.Sweep is { } sweep)
        {
            // A sweep resumes cell by cell: done cells are kept, the others rerun from scratch.
            SweepRunner.EnsureNoCellRunning(record.Directory, sweep);
            return new ResumePlan(record, prepared, null, []);
        }
        var skipped = new List<SkippedCheckpoint>();
        CheckpointInfo? found = null;
        foreach (var scanned in CheckpointFiles.Scan(Path.Combine(record.Directory, "checkpoints")))
        {
            try
            {
                var info = scanned.Info ?? throw new TelosInputException(scanned.Problem!);
                CheckpointFiles.Verify(info);
                found = info;
                break;
            }
            catch (TelosInputException e)
            {
                skipped.Add(new SkippedCheckpoint(scanned.SidecarPath, e.Message));
            }
        }
        if (found is not null)
        {
            // An intact checkpoint the experiment cannot continue from (another network, say) is refused, not skipped.
            prepared.Experiment.CheckResume(prepared.Settings, found);
            return new ResumePlan(record, prepared, found, skipped);
        }
        if (skipped.Count > 0)
        {
            throw new TelosInputException($"run '{record.Id}': no intact checkpoint to resume from ({skipped.Count} damaged; newest: {skipped[0].Reason})");
        }
        return new ResumePlan(record, prepared, null, skipped);
    }

    /// <summary>Continues a run as <see cref="PlanResume"/> decided: from its newest intact checkpoint, or from scratch when it has none.</summary>
    /// <exception cref="TelosInputException">One line: see <see cref="PlanResume"/>.</exception>
    public RunOutcome Resume(string idOrPrefix, IProgress<ProgressUpdate> progress, CancellationToken cancellationToken = default) =>
        Resume(PlanResume(idOrPrefix), progress, cancellationToken);

    /// <summary>A sweep's cells run in this process, one at a time.</summary>
    public SweepExecution InProcess() => new(new InProcessCellLauncher(this), 1);

    /// <summary>Runs a planned resume: marks the run running, drops metrics after the checkpoint, logs what was skipped, runs the experiment.</summary>
    public RunOutcome Resume(ResumePlan plan, IProgress<ProgressUpdate> progress, CancellationToken cancellationToken = default, SweepExecution? sweep = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var run = _store.Open(plan.Record.Id);
        foreach (var skip in plan.Skipped)
        {
            run.Log($"skipping checkpoint {skip.SidecarPath}: {skip.Reason}");
        }
        var checkpoint = plan.From;
        run.MarkRunning();
        run.TruncateMetricsAfter(checkpoint?.Step ?? -1);
        run.Log(checkpoint is null ? "resuming from scratch (no checkpoint)" : $"resuming from checkpoint step {checkpoint.Step}");
        return Execute(run, plan.Prepared, progress, cancellationToken, isResume: true, resumeFrom: checkpoint, sweep ?? InProcess());
    }

    private PreparedRun PrepareSweep(ConfigTable config, IExperiment experiment, string name, long? seedOverride)
    {
        if (seedOverride is not null)
        {
            throw new TelosInputException("--seed: a sweep takes its seeds from [sweep] seeds");
        }
        if (config.Contains(SeedKey))
        {
            throw config.Error(SeedKey, "a sweep takes its seeds from [sweep] seeds; remove the top-level seed");
        }
        var (axes, seeds, lines) = SweepPlan.ReadTable(config);
        // The base config must validate on its own; its resolved text (with [sweep]) is the sweep's config.toml.
        var settings = experiment.Configure(config);
        config.EnsureAllKeysUsed();
        RunStore.ValidateName(name);
        var resolved = config.ToResolvedToml();
        var plan = SweepPlan.Build(resolved, config.SourceName, axes, seeds, lines, cell => Prepare(cell, name).ResolvedToml);
        return new PreparedRun(experiment, config, settings, name, seeds[0], resolved) { Sweep = plan };
    }

    private static RunOutcome Execute(RunDirectory run, PreparedRun prepared, IProgress<ProgressUpdate> progress, CancellationToken cancellationToken, bool isResume, CheckpointInfo? resumeFrom, SweepExecution sweep, bool cell = false)
    {
        using (run)
        {
            var context = new ExperimentContext(prepared.Config, prepared.Settings, run, (ulong)prepared.Seed, progress, cancellationToken, isResume, resumeFrom);
            try
            {
                if (prepared.Sweep is { } plan)
                {
                    var failed = SweepRunner.Run(run, plan, sweep.Launcher, sweep.Jobs, progress, cancellationToken, prepared.Experiment as ISweepAnalysis);
                    if (failed == 0)
                    {
                        run.MarkCompleted();
                    }
                    else
                    {
                        run.MarkFailed($"{failed} of {plan.Cells.Count} cells failed (see report.md; the tables merge the others)");
                    }
                    return new RunOutcome(run.Record, failed == 0 ? 0 : 1);
                }
                var code = prepared.Experiment.Run(context);
                if (code == 0 && cell && !File.Exists(run.ResultsPath))
                {
                    run.WriteResults(RunResults.FromLastMetrics(run.ReadMetrics()));
                }
                if (code == 0)
                {
                    run.MarkCompleted();
                }
                else
                {
                    run.MarkFailed($"experiment returned exit code {code}");
                }
                return new RunOutcome(run.Record, code == 0 ? 0 : 1);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                var latest = run.LatestCheckpoint();
                run.MarkInterrupted(latest is null ? "no checkpoint yet" : $"latest checkpoint step {latest.Step}");
                return new RunOutcome(run.Record, 1);
            }
            catch (TelosInputException e)
            {
                run.MarkFailed(e.Message);
                throw;
            }
            catch (Exception e)
            {
                run.Log(e.ToString());
                run.MarkFailed(RunFailure.Message(e));
                return new RunOutcome(run.Record, 1);
            }
        }
    }
}
