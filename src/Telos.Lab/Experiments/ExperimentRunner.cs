using Telos.Lab.Configuration;
using Telos.Lab.Runs;
using Telos.Learning.Native;

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
}

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

    /// <summary>Creates the run directory and index row, then runs the experiment and records how it ended.</summary>
    /// <exception cref="TelosInputException">The experiment hit bad input while running (the run is marked failed).</exception>
    public RunOutcome Start(PreparedRun prepared, IProgress<ProgressUpdate> progress, CancellationToken cancellationToken = default)
    {
        var run = _store.Create(prepared.Name, prepared.Experiment.Kind, prepared.ResolvedToml, prepared.Seed);
        return Execute(run, prepared, progress, cancellationToken, isResume: false, resumeFrom: null);
    }

    /// <summary>
    /// Continues an interrupted, failed or dead run from its latest checkpoint (from scratch when it has none).
    /// Everything is checked before anything is written: the run exists and is not completed or live, its
    /// config still validates and matches the indexed hash, and the checkpoint's size and hash match its sidecar.
    /// </summary>
    /// <exception cref="TelosInputException">One line: unknown run, completed run, edited config, truncated or corrupt checkpoint.</exception>
    public RunOutcome Resume(string idOrPrefix, IProgress<ProgressUpdate> progress, CancellationToken cancellationToken = default)
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
        var run = _store.Open(record.Id);
        var prepared = Prepare(ConfigFile.Load(run.ConfigPath), record.Name, seedOverride: null);
        if (prepared.Experiment.Kind != record.Kind || prepared.ConfigHash != record.ConfigHash)
        {
            throw new TelosInputException($"{run.ConfigPath}: config changed since the run started (hash {prepared.ConfigHash}, index has {record.ConfigHash}); start a new run instead");
        }
        var checkpoint = run.LatestCheckpoint();
        if (checkpoint is not null)
        {
            run.VerifyCheckpoint(checkpoint);
        }
        run.MarkRunning();
        run.TruncateMetricsAfter(checkpoint?.Step ?? -1);
        run.Log(checkpoint is null ? "resuming from scratch (no checkpoint)" : $"resuming from checkpoint step {checkpoint.Step}");
        return Execute(run, prepared, progress, cancellationToken, isResume: true, resumeFrom: checkpoint);
    }

    private static RunOutcome Execute(RunDirectory run, PreparedRun prepared, IProgress<ProgressUpdate> progress, CancellationToken cancellationToken, bool isResume, CheckpointInfo? resumeFrom)
    {
        using (run)
        {
            var context = new ExperimentContext(prepared.Config, prepared.Settings, run, (ulong)prepared.Seed, progress, cancellationToken, isResume, resumeFrom);
            try
            {
                TorchRuntime.EnsureInitialized();
                var code = prepared.Experiment.Run(context);
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
                run.MarkFailed($"{e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
                return new RunOutcome(run.Record, 1);
            }
        }
    }
}
