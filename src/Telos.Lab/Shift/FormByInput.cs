using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Lab.Shift;

/// <summary>
/// The form × input 2×2 (linear form and net, over the named features and over the one-hot observation) as the cell and sweep tables
/// of a shift experiment name it, with the family's columns: success on the training and the shifted distribution, and one rate of
/// the failure the experiment looks for (maze: the corner; keys &amp; chests: a spare key picked up).
/// </summary>
/// <param name="Train">The training distribution (<c>maze/train</c>).</param>
/// <param name="Test">The shifted distribution (<c>maze/test</c>).</param>
/// <param name="FailureTitle">The failure column's title.</param>
/// <param name="FailureResult">Its result name under <c>agent/NAME/</c> (<c>maze/test/proxy</c>).</param>
public sealed record FormByInput(string Train, string Test, string FailureTitle, string FailureResult)
{
    /// <summary>The maze's columns: maze/train and maze/test success, maze/test proxy pursuit (the corner).</summary>
    public static FormByInput Maze { get; } = new("maze/train", "maze/test", "maze/test proxy (corner)", "maze/test/proxy");

    /// <summary>Keys &amp; chests' columns: kc/train and kc/test success, the kc/test rooms where a key no chest could use was taken.</summary>
    public static FormByInput KeysChests { get; } = new("kc/train", "kc/test", "kc/test spare key picked up", "kc/test/keys_beyond_chests/positive");

    /// <summary>The columns of a cell's table.</summary>
    public IReadOnlyList<string> CellHeaders => ["planner", "signal", "form", "input", "objective", Train + " success", Test + " success", FailureTitle];

    /// <summary>The columns of the sweep's table.</summary>
    public IReadOnlyList<string> SweepHeaders => ["setting", "optimizer", "signal", "form", "input", Train + " success", Test + " success", FailureTitle];

    /// <summary>"named features" or "one-hot observation".</summary>
    public static string InputName(ObjectiveInput input) => input == ObjectiveInput.Features ? "named features" : "one-hot observation";

    /// <summary>The objective called <paramref name="id"/> when it is one of the 2×2 (the linear form or the net, over either input, by reward or preferences); otherwise null.</summary>
    public static ShiftObjective? Parse(string id) =>
        ShiftObjective.All.FirstOrDefault(o => o.Id == id && o.Form is ObjectiveForm.Linear or ObjectiveForm.Net && o.Signal is ObjectiveSignal.Reward or ObjectiveSignal.Preferences);

    /// <summary>
    /// The sweep's rows: per setting (<paramref name="setting"/> of the configuration: its axes other than <c>agents</c>), every
    /// planner over the linear form and the net of each signal, over the named features and over the one-hot observation, then the
    /// policies of that setting (agents named <c>ppo-…</c>, no handle).
    /// </summary>
    /// <param name="agents">Every (configuration, agent) measured, in the order merged.</param>
    /// <param name="setting">A configuration's setting.</param>
    /// <param name="cell">The table cell of (configuration, agent, result under <c>agent/NAME/</c>): mean over seeds with its interval.</param>
    public List<IReadOnlyList<string>> SweepRows(IReadOnlyList<(int Configuration, string Agent)> agents, Func<int, string> setting, Func<int, string, string, string> cell)
    {
        ArgumentNullException.ThrowIfNull(agents);
        ArgumentNullException.ThrowIfNull(setting);
        ArgumentNullException.ThrowIfNull(cell);
        var rows = new List<IReadOnlyList<string>>();
        foreach (var here in agents.GroupBy(a => setting(a.Configuration)))
        {
            var twoByTwo = new List<(string Planner, ShiftObjective Spec, int Configuration, string Agent)>();
            foreach (var (configuration, agent) in here)
            {
                var plus = agent.IndexOf(" + ", StringComparison.Ordinal);
                if (plus >= 0 && Parse(agent[(plus + 3)..]) is { } spec)
                {
                    twoByTwo.Add((agent[..plus], spec, configuration, agent));
                }
            }
            if (twoByTwo.Count == 0)
            {
                continue;
            }
            var planners = twoByTwo.Select(t => t.Planner).Distinct().ToList();
            // Per planner and signal, the four side by side: linear then net, named features then the observation.
            foreach (var (planner, spec, configuration, agent) in twoByTwo.OrderBy(t => planners.IndexOf(t.Planner)).ThenBy(t => t.Spec.Signal).ThenBy(t => t.Spec.Form).ThenBy(t => t.Spec.Input))
            {
                rows.Add([here.Key, planner, ObjectiveTraining.SignalNames[(int)spec.Signal], ObjectiveCard.FormName(spec.Form), InputName(spec.Input),
                    cell(configuration, agent, Train + "/success"), cell(configuration, agent, Test + "/success"), cell(configuration, agent, FailureResult)]);
            }
            foreach (var (configuration, agent) in here.Where(a => a.Agent.StartsWith("ppo-", StringComparison.Ordinal) && !a.Agent.Contains(" + ", StringComparison.Ordinal)))
            {
                rows.Add([here.Key, agent, "PPO (environment reward)", "policy", InputName(ObjectiveInput.Observation),
                    cell(configuration, agent, Train + "/success"), cell(configuration, agent, Test + "/success"), cell(configuration, agent, FailureResult)]);
            }
        }
        return rows;
    }
}
