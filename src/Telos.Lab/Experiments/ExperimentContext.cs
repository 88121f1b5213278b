using Telos.Lab.Configuration;
using Telos.Lab.Runs;
using Telos.Randomness;

namespace Telos.Lab.Experiments;

/// <summary>Everything an experiment's <see cref="IExperiment.Run"/> gets: settings, run directory, seed, progress, cancellation, resume point.</summary>
public sealed class ExperimentContext
{
    public ExperimentContext(
        ConfigTable config,
        object settings,
        RunDirectory run,
        ulong seed,
        IProgress<ProgressUpdate> progress,
        CancellationToken cancellationToken,
        bool isResume,
        CheckpointInfo? resumeFrom)
    {
        Config = config;
        Settings = settings;
        Run = run;
        Seed = seed;
        Progress = progress;
        CancellationToken = cancellationToken;
        IsResume = isResume;
        ResumeFrom = resumeFrom;
    }

    /// <summary>The validated config (already fully read by <see cref="IExperiment.Configure"/>).</summary>
    public ConfigTable Config { get; }

    /// <summary>What <see cref="IExperiment.Configure"/> returned.</summary>
    public object Settings { get; }

    /// <summary>Where metrics, checkpoints, logs and the report go.</summary>
    public RunDirectory Run { get; }

    /// <summary>The run's root seed (the config's <c>seed</c>, or <c>--seed</c>). Derive component seeds with <see cref="DeriveSeed"/>.</summary>
    public ulong Seed { get; }

    /// <summary>Where to report progress (<see cref="ProgressUpdate.Task"/> = the experiment kind, Done/Total in steps).</summary>
    public IProgress<ProgressUpdate> Progress { get; }

    /// <summary>Cancelled on Ctrl+C: save what is needed and throw <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>True when continuing an earlier run (<c>telos resume</c>).</summary>
    public bool IsResume { get; }

    /// <summary>The checkpoint to continue from (verified), or null to start from scratch. Metrics after its step were already dropped.</summary>
    public CheckpointInfo? ResumeFrom { get; }

    /// <summary>A 63-bit seed for component <paramref name="name"/> (<see cref="Seeds.DeriveLong"/> of the root seed).</summary>
    public long DeriveSeed(string name) => Seeds.DeriveLong(Seed, name);

    /// <summary>A fresh generator for component <paramref name="name"/>.</summary>
    public Rng Stream(string name) => Seeds.Stream(Seed, name);
}
