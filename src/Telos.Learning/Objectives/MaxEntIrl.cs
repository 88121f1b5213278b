using System.Collections.Immutable;
using Telos.Environments;
using Telos.Objectives;
using Telos.Planning.Exact;
using Telos.Randomness;

namespace Telos.Learning.Objectives;

/// <summary>Settings of maximum-entropy IRL.</summary>
/// <param name="Discount">γ of the soft-optimal policy and of the feature counts.</param>
/// <param name="Temperature">τ of soft value iteration.</param>
/// <param name="Horizon">H: steps of the finite-horizon soft value iteration and of the feature counts.</param>
/// <param name="Iterations">Gradient steps on θ.</param>
/// <param name="LearningRate">Adam step size on θ (in scaled feature units when <paramref name="ScaleFeatures"/>).</param>
/// <param name="ScaleFeatures">Fit over features divided by their root mean square over all states of all
/// levels, and report the weights in the original units. A 0/1 indicator and a distance in moves then
/// move at the same pace under Adam. Features are scaled, never centred: a constant added to every
/// state's reward is a living reward, which changes behaviour where episodes end.</param>
public sealed record MaxEntIrlOptions(double Discount = 0.95, double Temperature = 1.0, int Horizon = 40, int Iterations = 150, double LearningRate = 0.1, bool ScaleFeatures = true);

/// <summary>One demonstration: state indices of one level, start first.</summary>
/// <param name="Level">Index into the levels list.</param>
/// <param name="States">s₀, s₁, …; ends at a terminal state or the horizon.</param>
/// <param name="Stopped">The demonstrator chose to stop after its last state (an agent that halts, such as a
/// planner at the end of its plan): the model's expected counts then run for the demonstration's own steps
/// (at most the horizon), not the whole horizon, so the stop is not read as avoiding what would follow.</param>
public sealed record Demonstration(int Level, int[] States, bool Stopped = false)
{
    /// <summary>Steps the model's expected counts run for this demonstration: its own for a stopped one, else <paramref name="horizon"/>.</summary>
    public int CountedSteps(int horizon) => Stopped ? Math.Min(horizon, States.Length - 1) : horizon;
}

/// <summary>
/// Maximum-entropy IRL (Ziebart et al. 2008) for a linear arrival reward r(s) = θ·φ(s) on
/// enumerable levels, with the exact planner inside: each step runs finite-horizon soft value
/// iteration (<see cref="ValueIteration.SolveSoft"/>) and exact expected visitation
/// (<see cref="StateVisitation.Expected"/>) from each demonstration's start, and moves θ along
/// ∇ log-likelihood = μ_demo − μ_θ (discounted feature counts), with Adam.
/// </summary>
public static class MaxEntIrl
{
    /// <summary>
    /// Fits θ; returns a linear card (provenance signal "demos", weights in the features' own units) and
    /// the fit metrics: <c>feature_count_gap</c> = ‖μ_demo − μ_θ‖ at the last step (in scaled feature units
    /// when <see cref="MaxEntIrlOptions.ScaleFeatures"/>) and <c>demonstrations</c>.
    /// </summary>
    /// <remarks>
    /// Deterministic optimal demonstrations have no finite maximum-likelihood θ: the scale grows with the
    /// steps while the direction settles, so compare directions (cosine), not magnitudes. What the
    /// direction can be depends on the demonstrations revealing it; see docs/objectives.md.
    /// </remarks>
    public static (ObjectiveCard Card, FitReport Report) Fit<TState>(IReadOnlyList<IEnumerableEnvironment<TState>> levels, IReadOnlyList<Demonstration> demonstrations, ImmutableArray<string> features, MaxEntIrlOptions options)
        where TState : struct
    {
        if (demonstrations.Count == 0)
        {
            throw new TelosInputException("MaxEnt IRL needs at least one demonstration");
        }
        var f = features.Length;
        var mdps = levels.Select(TabularMdp.FromEnvironment).ToArray();
        var phi = levels.Select(l => FeatureMatrix(l, features)).ToArray();
        var scale = options.ScaleFeatures ? RootMeanSquares(phi, f) : Enumerable.Repeat(1.0, f).ToArray();
        foreach (var matrix in phi)
        {
            for (var i = 0; i < matrix.Length; i++)
            {
                matrix[i] /= scale[i % f];
            }
        }
        var demo = new double[f];
        foreach (var d in demonstrations)
        {
            var discount = 1.0;
            for (var t = 1; t < d.States.Length && t <= options.Horizon; t++)
            {
                Accumulate(demo, phi[d.Level], d.States[t], discount);
                discount *= options.Discount;
            }
        }
        Scale(demo, 1.0 / demonstrations.Count);

        var theta = new double[f];
        var m = new double[f];
        var v = new double[f];
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        var gradientNorm = double.NaN;
        for (var it = 1; it <= options.Iterations; it++)
        {
            var expected = ExpectedCounts(levels.Count, mdps, phi, demonstrations, theta, options);
            var norm2 = 0.0;
            for (var k = 0; k < f; k++)
            {
                var g = demo[k] - expected[k];
                norm2 += g * g;
                m[k] = beta1 * m[k] + (1 - beta1) * g;
                v[k] = beta2 * v[k] + (1 - beta2) * g * g;
                var mHat = m[k] / (1 - Math.Pow(beta1, it));
                var vHat = v[k] / (1 - Math.Pow(beta2, it));
                theta[k] += options.LearningRate * mHat / (Math.Sqrt(vHat) + eps);
            }
            gradientNorm = Math.Sqrt(norm2);
        }
        var card = new ObjectiveCard
        {
            Form = ObjectiveForm.Linear,
            Features = features,
            Weights = [.. theta.Select((w, k) => w / scale[k])],
            Provenance = new Provenance("demos", "", "", options.Iterations, 0,
                ImmutableSortedDictionary<string, double>.Empty.Add("feature_count_gap", gradientNorm).Add("demonstrations", demonstrations.Count)),
        };
        return (card, new FitReport(options.Iterations, card.Provenance.Fit));
    }

    /// <summary>
    /// Exact finite-horizon optimal action values under an arrival reward, for every number of steps
    /// to go: Q_k(s, a) = r[s′] + γ · (end(s, a) ? 0 : maxₐ′ Q_{k−1}(s′, a′)), Q_0 = 0 — the hard
    /// counterpart of the soft value iteration <see cref="Fit{TState}"/> runs, with the same γ and H,
    /// so an optimal demonstrator and the IRL model agree on what "optimal" means.
    /// </summary>
    /// <param name="mdp">The level's transition table.</param>
    /// <param name="reward">r [S]: the value earned on arriving in each state.</param>
    /// <param name="discount">γ in [0, 1].</param>
    /// <param name="horizon">H ≥ 1.</param>
    /// <returns>[H, S, A] row-major; block k holds Q with k + 1 steps to go (a rollout uses block H − 1 − t at step t); illegal actions hold −∞.</returns>
    public static double[] OptimalActionValues(TabularMdp mdp, ReadOnlySpan<double> reward, double discount, int horizon)
    {
        ArgumentNullException.ThrowIfNull(mdp);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        var s = mdp.StateCount;
        var a = mdp.ActionCount;
        if (reward.Length != s)
        {
            throw new ArgumentException($"reward has {reward.Length} entries; the MDP has {s} states", nameof(reward));
        }
        var next = mdp.NextStates;
        var ends = mdp.Terminations;
        var q = new double[horizon * s * a];
        var values = new double[s];
        var fresh = new double[s];
        for (var k = 0; k < horizon; k++)
        {
            var block = q.AsSpan(k * s * a, s * a);
            for (var i = 0; i < s; i++)
            {
                var best = double.NegativeInfinity;
                for (var action = 0; action < a; action++)
                {
                    var j = next[i * a + action];
                    var value = j < 0 ? double.NegativeInfinity : reward[j] + discount * (ends[i * a + action] ? 0.0 : values[j]);
                    block[i * a + action] = value;
                    best = Math.Max(best, value);
                }
                fresh[i] = double.IsNegativeInfinity(best) ? 0.0 : best;
            }
            (values, fresh) = (fresh, values);
        }
        return q;
    }

    /// <summary>
    /// An optimal demonstration: from <paramref name="start"/>, take at step t an action that is optimal
    /// with H − t steps to go (block H − 1 − t of <paramref name="optimalActionValues"/>), choosing
    /// uniformly at random among actions tied within <see cref="ValueIteration.TieTolerance"/>
    /// (relative), until a terminating transition or the horizon.
    /// </summary>
    /// <param name="mdp">The level's transition table.</param>
    /// <param name="optimalActionValues">[H, S, A] from <see cref="OptimalActionValues"/>.</param>
    /// <param name="level">Index of the level in the list given to <see cref="Fit{TState}"/>.</param>
    /// <param name="start">Start state index.</param>
    /// <param name="rng">Breaks ties; advanced.</param>
    /// <remarks>Random tie-breaking matters: a fixed rule (lowest index) is a preference the reward does
    /// not have, and MaxEnt IRL would try to explain it with the reward.</remarks>
    public static Demonstration OptimalDemonstration(TabularMdp mdp, ReadOnlySpan<double> optimalActionValues, int level, int start, ref Rng rng)
    {
        ArgumentNullException.ThrowIfNull(mdp);
        var a = mdp.ActionCount;
        var block = mdp.StateCount * a;
        if (optimalActionValues.Length == 0 || optimalActionValues.Length % block != 0)
        {
            throw new ArgumentException($"expected [H, {mdp.StateCount}, {a}] action values; got {optimalActionValues.Length} entries", nameof(optimalActionValues));
        }
        var horizon = optimalActionValues.Length / block;
        Span<int> tied = stackalloc int[a];
        var states = new List<int> { start };
        var s = start;
        for (var t = 0; t < horizon; t++)
        {
            var row = optimalActionValues.Slice((horizon - 1 - t) * block + s * a, a);
            var best = double.NegativeInfinity;
            foreach (var x in row)
            {
                best = Math.Max(best, x);
            }
            if (double.IsNegativeInfinity(best))
            {
                break;
            }
            var slack = ValueIteration.TieTolerance * Math.Max(1.0, Math.Abs(best));
            var count = 0;
            for (var k = 0; k < a; k++)
            {
                if (row[k] >= best - slack)
                {
                    tied[count++] = k;
                }
            }
            var action = tied[count == 1 ? 0 : rng.NextInt(count)];
            var next = mdp.Next(s, action);
            states.Add(next);
            if (mdp.Ends(s, action))
            {
                break;
            }
            s = next;
        }
        return new Demonstration(level, [.. states]);
    }

    /// <summary>
    /// A Boltzmann-rational demonstration: the demonstrator MaxEnt IRL assumes. From
    /// <paramref name="start"/>, sample actions from a horizon-limited soft solution's time-varying
    /// policy (block H−1−t at step t) until termination or the horizon.
    /// </summary>
    /// <exception cref="ArgumentException">The solution is not horizon-limited.</exception>
    public static Demonstration SoftDemonstration(TabularMdp mdp, TabularSolution solution, int level, int start, ref Rng rng)
    {
        var schedule = solution.PolicySchedule ?? throw new ArgumentException("needs a horizon-limited soft solution", nameof(solution));
        var horizon = solution.Horizon;
        var a = mdp.ActionCount;
        var states = new List<int> { start };
        var s = start;
        for (var t = 0; t < horizon; t++)
        {
            var row = schedule.AsSpan(((horizon - 1 - t) * mdp.StateCount + s) * a, a);
            var u = rng.NextDouble();
            var action = -1;
            for (var k = 0; k < a; k++)
            {
                if (row[k] <= 0)
                {
                    continue;
                }
                action = k;
                u -= row[k];
                if (u < 0)
                {
                    break;
                }
            }
            if (action < 0)
            {
                break;
            }
            var next = mdp.Next(s, action);
            states.Add(next);
            if (mdp.Ends(s, action))
            {
                break;
            }
            s = next;
        }
        return new Demonstration(level, [.. states]);
    }

    /// <summary>Φ [S, F] of a level, columns bound by name.</summary>
    public static double[] FeatureMatrix<TState>(IEnumerableEnvironment<TState> level, ImmutableArray<string> features)
        where TState : struct
    {
        var columns = features.Select(level.Features.Require).ToArray();
        var row = new double[level.Features.Count];
        var phi = new double[level.StateCount * features.Length];
        for (var s = 0; s < level.StateCount; s++)
        {
            level.WriteFeatures(level.StateAt(s), row);
            for (var k = 0; k < columns.Length; k++)
            {
                phi[s * features.Length + k] = row[columns[k]];
            }
        }
        return phi;
    }

    private static double[] ExpectedCounts(int levelCount, TabularMdp[] mdps, double[][] phi, IReadOnlyList<Demonstration> demonstrations, double[] theta, MaxEntIrlOptions options)
    {
        var f = theta.Length;
        var solutions = new TabularSolution[levelCount];
        for (var l = 0; l < levelCount; l++)
        {
            var s = mdps[l].StateCount;
            var reward = new double[s];
            for (var i = 0; i < s; i++)
            {
                for (var k = 0; k < f; k++)
                {
                    reward[i] += theta[k] * phi[l][i * f + k];
                }
            }
            solutions[l] = ValueIteration.SolveSoft(mdps[l], reward, options.Discount, options.Temperature, options.Horizon);
        }
        var expected = new double[f];
        // One forward pass per (level, start, steps): demonstrations sharing them share it.
        foreach (var group in demonstrations.GroupBy(d => (d.Level, Start: d.States[0], Steps: d.CountedSteps(options.Horizon))))
        {
            var (level, startState, steps) = group.Key;
            var start = new double[mdps[level].StateCount];
            start[startState] = 1.0;
            var visits = StateVisitation.Expected(mdps[level], solutions[level], start, steps);
            var weight = group.Count();
            for (var s = 0; s < visits.Length; s++)
            {
                Accumulate(expected, phi[level], s, visits[s] * weight);
            }
        }
        Scale(expected, 1.0 / demonstrations.Count);
        return expected;
    }

    /// <summary>Per-feature √(mean φ²) over every state of every level; 1 for a feature that is 0 everywhere.</summary>
    private static double[] RootMeanSquares(double[][] phi, int f)
    {
        var sums = new double[f];
        var count = 0;
        foreach (var matrix in phi)
        {
            for (var i = 0; i < matrix.Length; i++)
            {
                sums[i % f] += matrix[i] * matrix[i];
            }
            count += matrix.Length / f;
        }
        return [.. sums.Select(x => x > 0 ? Math.Sqrt(x / count) : 1.0)];
    }

    private static void Accumulate(double[] into, double[] phi, int state, double weight)
    {
        var f = into.Length;
        for (var k = 0; k < f; k++)
        {
            into[k] += weight * phi[state * f + k];
        }
    }

    private static void Scale(double[] x, double factor)
    {
        for (var k = 0; k < x.Length; k++)
        {
            x[k] *= factor;
        }
    }
}
