using System.Globalization;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Control;
using Telos.Lab.Evaluation;
using Telos.Learning.Objectives;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Learning.Reinforcement.Policies;
using Telos.Randomness;
using Telos.Statistics;
using static TorchSharp.torch;

namespace Telos.Lab.Signatures;

/// <summary>A per-level probe target: a class for every level (e.g. the cheese's cell).</summary>
/// <param name="Name">How rows name it (<c>cheese cell</c>).</param>
/// <param name="Classes">K: labels are 0..K−1.</param>
/// <param name="Label">The level's class.</param>
public sealed record LevelTarget<TState>(string Name, int Classes, Func<IEnvironment<TState>, int> Label)
    where TState : struct;

/// <summary>One probe: a target read linearly from one place's activations, scored on held-out levels.</summary>
/// <param name="Agent">The agent whose activations were probed.</param>
/// <param name="Point">The hook point (a policy's, <c>net.hidden0</c>… of a network objective), or <c>observation</c>: the input itself, the control every point is compared with.</param>
/// <param name="Target"><c>cheese cell</c> (a level target) or <c>action +k</c>: the k-th next action (+1 is the action chosen from this activation, +4 the one three steps after it).</param>
/// <param name="Width">Activation width D.</param>
/// <param name="HeldOutAccuracy">Share of held-out rows (from held-out levels) classified right.</param>
/// <param name="ByLevel">Mean over held-out levels of each level's accuracy, with its 95 % t interval over levels (rows within a level are not independent; levels are).</param>
/// <param name="MajorityBaseline">Held-out accuracy of always answering the training rows' most frequent class: what a probe must beat.</param>
/// <param name="TrainAccuracy">Accuracy on the training rows.</param>
/// <param name="TrainRows">Training rows.</param>
/// <param name="HeldOutRows">Held-out rows.</param>
public sealed record ProbeRow(string Agent, string Point, string Target, int Width, double HeldOutAccuracy, MeanInterval ByLevel, double MajorityBaseline, double TrainAccuracy,
    int TrainRows, int HeldOutRows);

/// <summary>One recorded episode for probes.</summary>
/// <param name="Seed">The level's seed (the group of the split).</param>
/// <param name="Level">The level.</param>
/// <param name="Actions">The actions taken, [T].</param>
/// <param name="Activations">Point name → [T] activations, row t the one the action at t was chosen from.</param>
public sealed record ProbeRecording<TState>(long Seed, IEnvironment<TState> Level, IReadOnlyList<int> Actions, IReadOnlyDictionary<string, IReadOnlyList<float[]>> Activations)
    where TState : struct;

/// <summary>Success of a policy given K thinking steps, on one distribution.</summary>
/// <param name="Agent">The policy's name.</param>
/// <param name="ThinkingSteps">K.</param>
/// <param name="Summary">Its evaluation (success, proxy, ceilings with 95 % Wilson intervals).</param>
public sealed record ThinkingRow(string Agent, int ThinkingSteps, EvaluationSummary Summary);

/// <summary>Settings of the probes.</summary>
/// <param name="ActionsAhead">The k of the <c>action +k</c> targets (1, 4, 8).</param>
/// <param name="Lambda">The L2 penalty of every probe (ridge's λ; logistic's coefficient on ‖W‖²).</param>
/// <param name="HeldOutFraction">Share of the levels held out.</param>
/// <param name="Seed">The split's seed.</param>
/// <param name="Logistic">Fit multinomial logistic probes (<see cref="LinearProbe.Logistic"/>, slower, a classifier) instead of ridge onto one-hot labels (closed form).</param>
public sealed record ProbeSettings(IReadOnlyList<int> ActionsAhead, double Lambda, double HeldOutFraction, ulong Seed, bool Logistic = false)
{
    /// <summary>Ridge probes, k ∈ {1, 4, 8}, λ = 10, a quarter of the levels held out.</summary>
    public static ProbeSettings Default(ulong seed) => new([1, 4, 8], 10, 0.25, seed);
}

/// <summary>
/// Signatures of learned planning: what a linear probe reads from an agent's activations on its own
/// episodes — the goal's cell and its next actions, several steps ahead — scored on held-out levels,
/// for every hook point of a policy and, as the control, for the hidden layers of a hard-coded agent's
/// network objective (which has nothing to plan with); and a policy's success against thinking steps.
/// Every probe has the same two baselines beside it: the majority class, and the same probe on the
/// observation itself (what is linearly in the input needs no planning to be there).
/// </summary>
public static class PlanningSignatures
{
    /// <summary>The name of the input pseudo-point.</summary>
    public const string ObservationPoint = "observation";

    /// <summary>The maze's cheese cell (row-major index, N² classes).</summary>
    public static LevelTarget<MazeState> CheeseCell(int size) => new("cheese cell", size * size, level => ((Maze)level).Cheese);

    /// <summary>The thinking-step counts of the issue: 0, 1, 2, 4, 8.</summary>
    public static IReadOnlyList<int> DefaultThinkingSteps { get; } = [0, 1, 2, 4, 8];

    /// <summary>
    /// Probes every hook point of <paramref name="policy"/> (and the observation) on its greedy episodes on
    /// <paramref name="seeds"/> of <paramref name="distribution"/>.
    /// </summary>
    /// <returns>Rows by point (forward order, the observation first), then target; a target with rows from fewer than two levels (no split) is left out.</returns>
    /// <exception cref="ArgumentException">Fewer than two levels, or a split with an empty side.</exception>
    public static IReadOnlyList<ProbeRow> ProbePolicy<TState>(IEnvironmentFamily<TState> family, string agent, ActorCritic policy, string distribution, DistributionParameters parameters,
        IReadOnlyList<long> seeds, ulong evaluationSeed, IReadOnlyList<LevelTarget<TState>> targets, ProbeSettings settings)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(seeds);
        var source = family.Distribution(distribution, parameters);
        var points = policy.HookPoints.Select(p => p.Name).ToArray();
        var episodes = new List<ProbeRecording<TState>>();
        using var hooks = new ActivationHooks(policy);
        foreach (var point in points)
        {
            hooks.Record(point);
        }
        foreach (var seed in seeds)
        {
            var level = source.Level(seed);
            var recorded = EpisodeActivations.Record(hooks, level, AgentEvaluation.EpisodeSeed(evaluationSeed, seed));
            var activations = recorded.Activations.ToDictionary(p => p.Key, p => (IReadOnlyList<float[]>)p.Value, StringComparer.Ordinal);
            activations[ObservationPoint] = Observations(level, recorded.Episode);
            episodes.Add(new ProbeRecording<TState>(seed, level, recorded.Episode.Actions, activations));
        }
        return Probe(agent, [ObservationPoint, .. points], episodes, targets, settings);
    }

    /// <summary>
    /// The control: probes the hidden layers of <paramref name="network"/> (a network objective over
    /// observations) at every state of <paramref name="agent"/>'s episodes — the hard-coded agent that
    /// plans over it — with the same targets, the actions being the planner's.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two levels, or a split with an empty side.</exception>
    public static IReadOnlyList<ProbeRow> ProbeNetworkObjective<TState>(IEnvironmentFamily<TState> family, string name, IAgent<TState> agent, NetObjectiveForm network, string distribution,
        DistributionParameters parameters, IReadOnlyList<long> seeds, ulong evaluationSeed, IReadOnlyList<LevelTarget<TState>> targets, ProbeSettings settings)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(network);
        var source = family.Distribution(distribution, parameters);
        var result = AgentEvaluation.Evaluate(agent, family, distribution, parameters, seeds, evaluationSeed, new EvaluationOptions(KeepEpisodes: true));
        var episodes = new List<ProbeRecording<TState>>();
        var names = new List<string>();
        for (var i = 0; i < seeds.Count; i++)
        {
            var level = source.Level(seeds[i]);
            var episode = result.Episodes![i];
            var observations = Observations(level, episode);
            var activations = new Dictionary<string, IReadOnlyList<float[]>>(StringComparer.Ordinal) { [ObservationPoint] = observations };
            if (observations.Count > 0)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var input = TrainableObjective.Rows(observations.SelectMany(o => o).ToArray(), level.ObservationShape.Size);
                foreach (var (point, activation) in network.HiddenActivations(input))
                {
                    var rows = activation.to_type(ScalarType.Float32).contiguous();
                    activations["net." + point] = [.. Enumerable.Range(0, observations.Count).Select(t => rows[t].data<float>().ToArray())];
                }
            }
            if (observations.Count > 0)
            {
                names = [.. activations.Keys.Where(k => k != ObservationPoint)];
            }
            episodes.Add(new ProbeRecording<TState>(seeds[i], level, episode.Actions, activations));
        }
        return Probe(name, [ObservationPoint, .. names], episodes, targets, settings);
    }

    /// <summary>Success of <paramref name="policy"/>'s greedy lanes with each K of <paramref name="thinkingSteps"/>, on both distributions of <paramref name="levels"/>, through the one evaluation path.</summary>
    public static IReadOnlyList<ThinkingRow> ThinkingCurve<TState>(IEnvironmentFamily<TState> family, string agent, ActorCritic policy, AnalysisLevels levels, IReadOnlyList<int> thinkingSteps)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(thinkingSteps);
        var rows = new List<ThinkingRow>();
        foreach (var k in thinkingSteps)
        {
            using var lanes = new PolicyAgent<TState>(policy, AgentEvaluations.PolicyLanes, agent, thinkingSteps: k);
            rows.AddRange(levels.Evaluate(lanes, family).Select(s => new ThinkingRow(agent, k, s)));
        }
        return rows;
    }

    /// <summary>The k-th next action of every step: step t's label is the action taken at t + k − 1 (null past the episode's end).</summary>
    public static int?[] NextAction(IReadOnlyList<int> actions, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        return ProbeDataset.ActionsAhead(actions, k - 1);
    }

    /// <summary>
    /// Probes recorded episodes: for each of <paramref name="points"/>, each level target and each
    /// <c>action +k</c>, a linear probe from the point's activation before each action to the target,
    /// split by level with one seed for every point and target (the same levels are held out wherever the same levels have rows; held-out levels are never trained on).
    /// </summary>
    /// <returns>Rows by point, then target (level targets first); a target with rows from fewer than two levels (no split) is left out.</returns>
    public static IReadOnlyList<ProbeRow> Probe<TState>(string agent, IReadOnlyList<string> points, IReadOnlyList<ProbeRecording<TState>> episodes, IReadOnlyList<LevelTarget<TState>> targets,
        ProbeSettings settings)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(episodes);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(settings);
        var actions = episodes.Select(e => e.Level.ActionCount).DefaultIfEmpty(1).Max();
        var rows = new List<ProbeRow>();
        foreach (var point in points)
        {
            var labelled = targets.Select(t => (t.Name, t.Classes, Labels: (Func<ProbeRecording<TState>, int?[]>)(e => [.. e.Actions.Select(_ => (int?)t.Label(e.Level))])))
                .Concat(settings.ActionsAhead.Select(k => (Name: string.Create(CultureInfo.InvariantCulture, $"action +{k}"), Classes: actions, Labels: (Func<ProbeRecording<TState>, int?[]>)(e => NextAction(e.Actions, k)))));
            foreach (var (target, classes, labels) in labelled)
            {
                var data = new ProbeDataset();
                foreach (var episode in episodes.Where(e => e.Activations.ContainsKey(point)))
                {
                    data.AddEpisode(episode.Activations[point], labels(episode), episode.Seed);
                }
                if (data.Groups.Distinct().Count() < 2)
                {
                    continue;
                }
                // One split for every point and target: the same levels are held out, so rows compare.
                var split = Seeds.Derive(settings.Seed, "probe/split");
                var result = settings.Logistic
                    ? LinearProbe.Logistic(data, classes, settings.Lambda, heldOutFraction: settings.HeldOutFraction, seed: split)
                    : LinearProbe.Ridge(data, classes, settings.Lambda, settings.HeldOutFraction, split);
                var byLevel = result.HeldOutCorrect.Zip(result.HeldOutGroups).GroupBy(r => r.Second).Select(g => g.Average(r => r.First ? 1.0 : 0.0)).ToArray();
                rows.Add(new ProbeRow(agent, point, target, data.Width, result.HeldOutAccuracy, MeanInterval.Of(byLevel), result.MajorityBaseline, result.TrainAccuracy,
                    result.TrainRows, result.HeldOutRows));
            }
        }
        return rows;
    }

    /// <summary>The observation before each action of <paramref name="episode"/>.</summary>
    private static IReadOnlyList<float[]> Observations<TState>(IEnvironment<TState> level, AgentEpisode<TState> episode)
        where TState : struct
    {
        var size = level.ObservationShape.Size;
        return [.. Enumerable.Range(0, episode.Steps).Select(t =>
        {
            var observation = new float[size];
            level.WriteObservation(episode.States[t], observation);
            return observation;
        })];
    }

}
