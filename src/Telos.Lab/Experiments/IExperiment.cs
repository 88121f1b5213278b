using Telos.Lab.Configuration;
using Telos.Lab.Runs;

namespace Telos.Lab.Experiments;

/// <summary>
/// A kind of experiment a config can name with <c>experiment = "kind"</c>. Every public non-abstract
/// class implementing this in a loaded Telos assembly (with a parameterless constructor) is found
/// by <see cref="ExperimentCatalog"/>. Derive from <see cref="Experiment{TSettings}"/> rather than
/// implementing this directly.
/// </summary>
public interface IExperiment
{
    /// <summary>The name configs use, lower-case with dashes ("mlp-regression").</summary>
    string Kind { get; }

    /// <summary>One line for <c>telos experiments</c> listings.</summary>
    string Description { get; }

    /// <summary>
    /// Reads and validates every setting through <paramref name="config"/>'s typed getters and returns them.
    /// Called before any run directory exists; must have no side effects. Unread keys are then rejected.
    /// </summary>
    /// <exception cref="TelosInputException">A setting is missing, mistyped or out of range.</exception>
    object Configure(ConfigTable config);

    /// <summary>Runs the experiment; returns 0 on success. Throws <see cref="OperationCanceledException"/> when cancelled.</summary>
    int Run(ExperimentContext context);

    /// <summary>
    /// Refuses a checkpoint this experiment cannot continue from with <paramref name="settings"/> (what
    /// <see cref="Configure"/> returned), before a resume writes anything. By default every intact checkpoint is accepted.
    /// </summary>
    /// <exception cref="TelosInputException">The checkpoint does not fit the settings; one line naming it.</exception>
    void CheckResume(object settings, CheckpointInfo checkpoint)
    {
    }
}

/// <summary>An experiment with typed settings: <see cref="Configure(ConfigTable)"/> builds them, <see cref="Run(ExperimentContext, TSettings)"/> uses them.</summary>
public abstract class Experiment<TSettings> : IExperiment
    where TSettings : notnull
{
    public abstract string Kind { get; }

    public abstract string Description { get; }

    /// <inheritdoc cref="IExperiment.Configure"/>
    public abstract TSettings Configure(ConfigTable config);

    /// <inheritdoc cref="IExperiment.Run"/>
    public abstract int Run(ExperimentContext context, TSettings settings);

    /// <inheritdoc cref="IExperiment.CheckResume"/>
    public virtual void CheckResume(TSettings settings, CheckpointInfo checkpoint)
    {
    }

    object IExperiment.Configure(ConfigTable config) => Configure(config);

    void IExperiment.CheckResume(object settings, CheckpointInfo checkpoint) => CheckResume((TSettings)settings, checkpoint);

    int IExperiment.Run(ExperimentContext context) => Run(context, (TSettings)context.Settings);
}
