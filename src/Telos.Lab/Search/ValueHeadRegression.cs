using Telos.Environments;
using Telos.Lab.Control;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Lab.Search;

/// <summary>Settings of <see cref="ValueHeadRegression"/>.</summary>
/// <param name="Budgets">The label budgets k (0: the value head unchanged), e.g. 0, 1, 4, 16, 64.</param>
/// <param name="AnchorWeight">λ of the anchor (the lab's goal regression uses 1).</param>
/// <param name="AnchorStates">Training-distribution states the anchor holds (the lab's: 2,000).</param>
/// <param name="Steps">Full-batch Adam steps of each fine-tuning.</param>
/// <param name="LearningRate">Adam's learning rate.</param>
/// <param name="LabelSeed">Seeds the labels' draw (<see cref="GoalRegressionCurve.DrawLabels{TState}"/>'s rule).</param>
/// <param name="AnchorSeed">Seeds the anchor states' draw (the same rule on the training distribution).</param>
public sealed record ValueRegressionSettings(IReadOnlyList<int> Budgets, double AnchorWeight, int AnchorStates, int Steps, double LearningRate, ulong LabelSeed, ulong AnchorSeed);

/// <summary>One point of the value head's k-curve on one distribution.</summary>
/// <param name="Budget">k, labelled states.</param>
/// <param name="GoalLabels">Of the k labels, those on the cheese.</param>
/// <param name="Distribution">Where the distances were measured.</param>
/// <param name="Distances">The fine-tuned value head against the true and the proxy objective (<see cref="ValueHeadComparison"/>).</param>
/// <param name="LabelErrorBefore">Mean squared error of the head on its k labels before the fit (null at k = 0).</param>
/// <param name="LabelErrorAfter">The same after the fit.</param>
public sealed record ValueRegressionPoint(int Budget, int GoalLabels, string Distribution, ValueHeadDistances Distances, double? LabelErrorBefore = null, double? LabelErrorAfter = null);

/// <summary>
/// Goal regression for a value head, as <see cref="GoalRegressionCurve"/> is for a readable objective: k states of the
/// shifted distribution, drawn by the same stated rule (a level from the seed, then a state uniformly among its states;
/// budgets nested), are labelled with the true objective's value there (γ^d · 10, d the shortest path to the cheese:
/// what <see cref="ValueHeadComparison"/> compares with); a copy of the policy has its <b>value head only</b> (the final
/// linear layer; the encoder stays) fitted by full-batch Adam to mean (v − label)² + λ · mean (v − v₀)² over anchor
/// states of the training distribution, v₀ the head's values before (the lab's anchor); then its EPIC distance to the
/// true and the proxy objective is measured again. The caller's policy is not changed.
/// </summary>
public static class ValueHeadRegression
{
    /// <summary>The value head's parameters (<see cref="ActorCritic"/>'s <c>critic</c> layer).</summary>
    public const string HeadPrefix = "critic.";

    /// <summary>
    /// The k-curve: for each k, the value head fine-tuned on the first k labels of <paramref name="labelDistribution"/>,
    /// measured on every level set of <paramref name="measured"/>.
    /// </summary>
    /// <returns>Rows by k, then by <paramref name="measured"/>' order.</returns>
    /// <exception cref="TelosInputException">Negative budgets, no budget, or nothing to measure on.</exception>
    public static IReadOnlyList<ValueRegressionPoint> Run(IEnvironmentFamily<MazeState> family, ActorCritic policy, string labelDistribution, string anchorDistribution,
        DistributionParameters parameters, IReadOnlyList<(string Distribution, IReadOnlyList<Maze> Levels)> measured, float gamma, ValueRegressionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(measured);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Budgets.Count == 0 || settings.Budgets.Any(k => k < 0) || measured.Count == 0 || settings.AnchorStates < 0 || settings.Steps < 1)
        {
            throw new TelosInputException($"value regression needs budgets ≥ 0 (got [{string.Join(", ", settings.Budgets)}]), levels to measure on, and ≥ 1 step");
        }
        TorchRuntime.EnsureInitialized();
        var most = settings.Budgets.Max();
        var labels = GoalRegressionCurve.DrawLabels(family, labelDistribution, parameters, most, settings.LabelSeed);
        var labelLevels = family.Distribution(labelDistribution, parameters);
        var labelled = labels.Select(l => ((Maze)labelLevels.Level(l.LevelSeed), l.State)).ToArray();
        var labelObservations = Observations(labelled, policy);
        var labelValues = labelled.Select(l => (float)ValueHeadComparison.TrueValues(l.Item1, gamma)[l.State]).ToArray();
        var anchorLevels = family.Distribution(anchorDistribution, parameters);
        var anchor = settings.AnchorWeight > 0 && settings.AnchorStates > 0
            ? GoalRegressionCurve.DrawLabels(family, anchorDistribution, parameters, settings.AnchorStates, settings.AnchorSeed).Select(l => ((Maze)anchorLevels.Level(l.LevelSeed), l.State)).ToArray()
            : [];
        var anchorObservations = Observations(anchor, policy);
        var rows = new List<ValueRegressionPoint>();
        foreach (var k in settings.Budgets)
        {
            var goal = labels.Take(k).Count(l => l.OnGoal);
            using var copy = policy.Copy();
            var (errorBefore, errorAfter) = k > 0 ? FitHead(copy, labelObservations.AsSpan(0, k * policy.Observation.Size).ToArray(), labelValues[..k], anchorObservations, settings) : ((double?)null, (double?)null);
            rows.AddRange(measured.Select(m => new ValueRegressionPoint(k, goal, m.Distribution, ValueHeadComparison.Compare(copy, m.Levels, gamma), errorBefore, errorAfter)));
        }
        return rows;
    }

    /// <summary>Fits <paramref name="policy"/>'s value head (in place) to the labels with the anchor on its own values before; returns the labels' mean squared error before and after.</summary>
    private static (double? Before, double? After) FitHead(ActorCritic policy, float[] labelled, float[] labels, float[] anchor, ValueRegressionSettings settings)
    {
        using var scope = NewDisposeScope();
        var head = new List<TorchSharp.Modules.Parameter>();
        foreach (var (name, parameter) in policy.named_parameters())
        {
            var trained = name.StartsWith(HeadPrefix, StringComparison.Ordinal);
            parameter.requires_grad = trained;
            if (trained)
            {
                head.Add(parameter);
            }
        }
        var x = Batch(policy, labelled);
        var y = tensor(labels);
        var anchored = anchor.Length > 0;
        var xa = anchored ? Batch(policy, anchor) : null;
        Tensor? before = null;
        if (xa is not null)
        {
            using var noGrad = no_grad();
            before = Values(policy, xa).detach();
        }
        double LabelError()
        {
            using var noGrad = no_grad();
            using var errorScope = NewDisposeScope();
            return Values(policy, x).sub(y).square().mean().item<float>();
        }

        var errorBefore = LabelError();
        using var optimizer = optim.Adam(head, settings.LearningRate);
        for (var step = 0; step < settings.Steps; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = Values(policy, x).sub(y).square().mean();
            if (xa is not null)
            {
                loss = loss.add(Values(policy, xa).sub(before!).square().mean().mul(settings.AnchorWeight));
            }
            loss.backward();
            optimizer.step();
        }
        return (errorBefore, LabelError());
    }

    private static Tensor Batch(ActorCritic policy, float[] observations)
    {
        var o = policy.Observation;
        var count = observations.Length / o.Size;
        return tensor(observations).view(1, count, o.Channels, o.Height, o.Width);
    }

    private static Tensor Values(ActorCritic policy, Tensor batch)
    {
        var count = batch.shape[1];
        return policy.Unroll(batch, policy.InitialState(count), zeros(1, count)).Values[0];
    }

    private static float[] Observations(IReadOnlyList<(Maze Level, int State)> states, ActorCritic policy)
    {
        var size = policy.Observation.Size;
        var observations = new float[states.Count * size];
        for (var i = 0; i < states.Count; i++)
        {
            var (level, index) = states[i];
            level.WriteObservation(level.StateAt(index), observations.AsSpan(i * size, size));
        }
        return observations;
    }
}
