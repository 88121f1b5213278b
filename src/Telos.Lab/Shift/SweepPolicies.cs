using Telos.Lab.Configuration;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;

namespace Telos.Lab.Shift;

/// <summary>
/// <c>policies_from = "SWEEP_RUN_DIRECTORY"</c>: a maze-shift policy cell loads the final checkpoint of the matching cell
/// (same agent group, training region and seed) of an earlier maze-shift sweep instead of training, and measures,
/// retargets and analyses it as usual. A cell matches only if every training key of its resolved config has the value
/// it has in that cell's <c>config.toml</c> (<see cref="IsTrainingKey"/>).
/// </summary>
public static class SweepPolicies
{
    /// <summary>The config key.</summary>
    public const string Key = "policies_from";

    /// <summary>
    /// Whether <paramref name="key"/> (dotted, as <see cref="ResolvedConfigDiff"/> names it) decides a policy cell's training:
    /// the experiment, the seed, the agent group, the maze size, step limit and training region, and every key of the group's
    /// own table (<c>[ppo-lstm]</c> for <c>ppo-lstm</c>). Measurement, retargeting and analysis keys are not.
    /// </summary>
    public static bool IsTrainingKey(string key, string agents)
    {
        ArgumentNullException.ThrowIfNull(key);
        return key is "experiment" or "seed" or "agents" or "size" or "step_limit" or "region" || key.StartsWith(agents + ".", StringComparison.Ordinal);
    }

    /// <summary>
    /// The checkpoint of the cell of the sweep in <paramref name="sweepDirectory"/> that matches the cell whose resolved config is
    /// <paramref name="resolvedToml"/> (agent group <paramref name="agents"/>, region <paramref name="region"/>, seed <paramref name="seed"/>).
    /// </summary>
    /// <exception cref="TelosInputException">
    /// One line naming <c>policies_from</c>: no such sweep directory, no matching cell, a matching cell whose training keys
    /// differ (each listed, earlier value → this one), or one without a checkpoint.
    /// </exception>
    public static CheckpointInfo Find(string sweepDirectory, string resolvedToml, string agents, int region, long seed)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sweepDirectory);
        ArgumentNullException.ThrowIfNull(resolvedToml);
        var cells = Path.Combine(sweepDirectory, SweepRunner.CellsFolder);
        if (!Directory.Exists(cells))
        {
            throw new TelosInputException($"{Key}: {sweepDirectory} is not a sweep's run directory (no {SweepRunner.CellsFolder}/)");
        }
        var identity = new[] { "agents", "region", "seed" };
        foreach (var cell in Directory.GetDirectories(cells).Order(StringComparer.Ordinal))
        {
            var configPath = Path.Combine(cell, "config.toml");
            if (!File.Exists(configPath))
            {
                continue;
            }
            var differing = ResolvedConfigDiff.Keys(File.ReadAllText(configPath), resolvedToml)
                .Select(d => (Key: d[..d.IndexOf(": ", StringComparison.Ordinal)], Text: d))
                .Where(d => IsTrainingKey(d.Key, agents)).ToList();
            if (differing.Any(d => identity.Contains(d.Key) || d.Key == "experiment"))
            {
                continue;
            }
            if (differing.Count > 0)
            {
                throw new TelosInputException($"{Key}: cell {configPath} (agents = \"{agents}\", region = {region}, seed = {seed}) was trained with other settings: {string.Join("; ", differing.Select(d => d.Text))}");
            }
            try
            {
                return PolicyCheckpoints.FindAt(cell);
            }
            catch (TelosInputException e)
            {
                throw new TelosInputException($"{Key}: {e.Message}", e);
            }
        }
        throw new TelosInputException($"{Key}: {sweepDirectory} has no maze-shift cell with agents = \"{agents}\", region = {region}, seed = {seed}");
    }
}
