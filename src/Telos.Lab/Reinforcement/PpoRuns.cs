using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;

namespace Telos.Lab.Reinforcement;

/// <summary>
/// What <c>telos train ppo</c> asks for: a <c>ppo</c> config (a file, or the experiment's defaults)
/// with the flags given replacing its keys.
/// </summary>
/// <param name="ConfigPath">A TOML file naming <c>experiment = "ppo"</c> (or naming no experiment), or null for the defaults.</param>
/// <param name="Env">Replaces <c>env</c>.</param>
/// <param name="Policy">Replaces <c>policy</c>.</param>
/// <param name="Steps">Replaces <c>total_timesteps</c>.</param>
/// <param name="Parameters">Replace keys of <c>[params]</c>.</param>
/// <param name="Seed">Replaces <c>seed</c>.</param>
/// <param name="Name">The run name (default: the config file's stem, else <c>ppo-POLICY</c>).</param>
public sealed record PpoTrainRequest(string? ConfigPath, string? Env, string? Policy, long? Steps, DistributionParameters Parameters, long? Seed, string? Name);

/// <summary>Turns <c>telos train ppo</c>'s flags into a validated run of the <c>ppo</c> experiment.</summary>
public static class PpoRuns
{
    /// <summary>The source name errors about flags carry when no config file is given.</summary>
    public const string CommandLineSource = "telos train ppo";

    /// <summary>Validates everything (nothing is written): the config with the flags applied, as <see cref="ExperimentRunner.Prepare(ConfigTable, string, long?)"/> does.</summary>
    /// <exception cref="TelosInputException">One line naming the file (or the command line) and key.</exception>
    public static PreparedRun Prepare(ExperimentRunner runner, PpoTrainRequest request)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(request);
        var config = request.ConfigPath is null ? ConfigFile.Parse("", CommandLineSource) : ConfigFile.Load(request.ConfigPath);
        if (!config.Contains(ExperimentRunner.ExperimentKey))
        {
            config.Override(ExperimentRunner.ExperimentKey, PpoExperiment.KindName);
        }
        if (request.Env is not null)
        {
            config.Override("env", request.Env);
        }
        if (request.Policy is not null)
        {
            config.Override("policy", request.Policy);
        }
        if (request.Steps is { } steps)
        {
            config.Override("total_timesteps", steps);
        }
        foreach (var parameter in request.Parameters.Names)
        {
            config.Override("params", parameter, request.Parameters[parameter]!.Value);
        }
        var name = request.Name ?? (request.ConfigPath is { } path ? Path.GetFileNameWithoutExtension(path) : "ppo-" + (request.Policy ?? "lstm"));
        var prepared = runner.Prepare(config, name, request.Seed);
        if (prepared.Experiment is not PpoExperiment)
        {
            throw new TelosInputException($"{request.ConfigPath}: experiment is '{prepared.Experiment.Kind}'; telos train ppo takes a ppo config");
        }
        return prepared;
    }
}
