namespace Telos.Planning.Exact;

/// <summary>
/// Tabular value iteration and soft (maximum-entropy) value iteration over a <see cref="TabularMdp"/>
/// with a state reward vector — the objective's value of each state index.
/// </summary>
/// <remarks>
/// <para>Reward convention: a transition into state s′ earns r[s′] ("arrival reward"), so a plan's
/// return is Σₜ γᵗ r[sₜ₊₁] over the states it visits after the start, and nothing is earned after a
/// terminating transition:</para>
/// <para>Q(s, a) = r[s′] + γ · (end(s, a) ? T[s′] : V(s′)), for legal a, where the terminal value T is 0
/// unless given (planners use T = r/(1 − γ): "stay in the final state forever").</para>
/// <para>Hard: V(s) = maxₐ Q(s, a). Soft: V(s) = τ · log Σₐ exp(Q(s, a)/τ), π(a|s) = exp((Q(s, a) − V(s))/τ)
/// (Ziebart et al. 2008, the backward pass of MaxEnt IRL). A state with no legal action has V = 0.</para>
/// <para>Two variants: discounted (γ &lt; 1, iterate to a tolerance) and horizon-limited (exactly H
/// backups from V = 0; γ = 1 allowed), which also keeps the time-varying policy.</para>
/// <para>Backups are synchronous (Jacobi), so the result does not depend on state order.</para>
/// </remarks>
public static class ValueIteration
{
    /// <summary>Relative tolerance under which two action values count as tied for the greedy policy.</summary>
    public const double TieTolerance = 1e-9;

    /// <summary>Hard value iteration.</summary>
    /// <param name="mdp">The level's transition table.</param>
    /// <param name="stateReward">r [S]: the value earned on arriving in each state.</param>
    /// <param name="discount">γ in [0, 1]; 1 only with a horizon.</param>
    /// <param name="horizon">0 for the discounted infinite-horizon solve; H &gt; 0 for exactly H backups.</param>
    /// <param name="tolerance">Discounted solve: stop when max |ΔV| &lt; tolerance.</param>
    /// <param name="maxIterations">Discounted solve: give up (Converged = false) after this many backups.</param>
    /// <param name="terminalValue">Optional [S]: the value of ending the episode in each state, added (discounted) after a terminating transition; empty = 0.</param>
    /// <exception cref="ArgumentException">Bad sizes or parameters.</exception>
    public static TabularSolution Solve(TabularMdp mdp, ReadOnlySpan<double> stateReward, double discount,
        int horizon = 0, double tolerance = 1e-12, int maxIterations = 100_000, ReadOnlySpan<double> terminalValue = default) =>
        Run(mdp, stateReward, discount, temperature: null, horizon, tolerance, maxIterations, terminalValue);

    /// <summary>Soft value iteration (maximum-entropy backups with temperature τ).</summary>
    /// <param name="mdp">The level's transition table.</param>
    /// <param name="stateReward">r [S]: the value earned on arriving in each state.</param>
    /// <param name="discount">γ in [0, 1]; 1 only with a horizon.</param>
    /// <param name="temperature">τ &gt; 0; τ → 0 recovers hard value iteration.</param>
    /// <param name="horizon">0 for the discounted infinite-horizon solve; H &gt; 0 for exactly H backups.</param>
    /// <param name="tolerance">Discounted solve: stop when max |ΔV| &lt; tolerance.</param>
    /// <param name="maxIterations">Discounted solve: give up (Converged = false) after this many backups.</param>
    /// <exception cref="ArgumentException">Bad sizes or parameters.</exception>
    public static TabularSolution SolveSoft(TabularMdp mdp, ReadOnlySpan<double> stateReward, double discount,
        double temperature = 1.0, int horizon = 0, double tolerance = 1e-12, int maxIterations = 100_000)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be positive and finite");
        }
        return Run(mdp, stateReward, discount, temperature, horizon, tolerance, maxIterations, default);
    }

    private static TabularSolution Run(TabularMdp mdp, ReadOnlySpan<double> reward, double discount, double? temperature,
        int horizon, double tolerance, int maxIterations, ReadOnlySpan<double> terminalValue)
    {
        ArgumentNullException.ThrowIfNull(mdp);
        var s = mdp.StateCount;
        var a = mdp.ActionCount;
        if (reward.Length != s)
        {
            throw new ArgumentException($"state reward has {reward.Length} entries; the MDP has {s} states", nameof(reward));
        }
        foreach (var r in reward)
        {
            if (!double.IsFinite(r))
            {
                throw new ArgumentException("state reward contains a NaN or infinite value", nameof(reward));
            }
        }
        if (!terminalValue.IsEmpty && terminalValue.Length != s)
        {
            throw new ArgumentException($"terminal value has {terminalValue.Length} entries; the MDP has {s} states", nameof(terminalValue));
        }
        ArgumentOutOfRangeException.ThrowIfNegative(horizon);
        if (!(discount >= 0 && discount <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(discount), discount, "must be in [0, 1]");
        }
        if (horizon == 0 && discount >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(discount), discount, "γ = 1 needs a horizon (H > 0); the discounted solve needs γ < 1");
        }
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxIterations);

        var next = mdp.NextStates;
        var ends = mdp.Terminations;
        var values = new double[s];
        var fresh = new double[s];
        var q = new double[s * a];
        var schedule = horizon > 0 ? new double[horizon * s * a] : null;
        var iterations = 0;
        var converged = false;
        var limit = horizon > 0 ? horizon : maxIterations;
        while (iterations < limit)
        {
            var delta = 0.0;
            for (var i = 0; i < s; i++)
            {
                var row = q.AsSpan(i * a, a);
                for (var action = 0; action < a; action++)
                {
                    var k = i * a + action;
                    var j = next[k];
                    row[action] = j < 0
                        ? double.NegativeInfinity
                        : reward[j] + discount * (ends[k] ? (terminalValue.IsEmpty ? 0.0 : terminalValue[j]) : values[j]);
                }
                var v = temperature is { } tau ? SoftMax(row, tau) : HardMax(row);
                fresh[i] = v;
                delta = Math.Max(delta, Math.Abs(v - values[i]));
            }
            (values, fresh) = (fresh, values);
            iterations++;
            if (schedule is not null)
            {
                WritePolicy(q, s, a, temperature, schedule.AsSpan((iterations - 1) * s * a, s * a));
            }
            else if (delta < tolerance)
            {
                converged = true;
                break;
            }
        }
        var policy = new double[s * a];
        WritePolicy(q, s, a, temperature, policy);
        return new TabularSolution(s, a, values, q, policy, schedule, iterations, horizon > 0 || converged, discount, temperature);
    }

    private static double HardMax(ReadOnlySpan<double> row)
    {
        var best = double.NegativeInfinity;
        foreach (var x in row)
        {
            best = Math.Max(best, x);
        }
        return double.IsNegativeInfinity(best) ? 0.0 : best;
    }

    /// <summary>τ·log Σ exp(x/τ) over finite entries, stabilised by the maximum; 0 if none is finite.</summary>
    private static double SoftMax(ReadOnlySpan<double> row, double tau)
    {
        var best = double.NegativeInfinity;
        foreach (var x in row)
        {
            best = Math.Max(best, x);
        }
        if (double.IsNegativeInfinity(best))
        {
            return 0.0;
        }
        var sum = 0.0;
        foreach (var x in row)
        {
            sum += Math.Exp((x - best) / tau);
        }
        return best + tau * Math.Log(sum);
    }

    private static void WritePolicy(ReadOnlySpan<double> q, int s, int a, double? temperature, Span<double> policy)
    {
        for (var i = 0; i < s; i++)
        {
            var row = q.Slice(i * a, a);
            var target = policy.Slice(i * a, a);
            target.Clear();
            if (temperature is { } tau)
            {
                var best = double.NegativeInfinity;
                foreach (var x in row)
                {
                    best = Math.Max(best, x);
                }
                if (double.IsNegativeInfinity(best))
                {
                    continue;
                }
                // Normalise by the row's own sum rather than by exp(V/τ): V was computed from this same row, but
                // recomputing keeps rounding from leaving rows that sum to 1 ± ε.
                var sum = 0.0;
                for (var action = 0; action < a; action++)
                {
                    target[action] = Math.Exp((row[action] - best) / tau);
                    sum += target[action];
                }
                for (var action = 0; action < a; action++)
                {
                    target[action] /= sum;
                }
            }
            else
            {
                var action = ArgMax(row);
                if (action >= 0)
                {
                    target[action] = 1.0;
                }
            }
        }
    }

    /// <summary>Lowest index whose value is within <see cref="TieTolerance"/> (relative) of the maximum; −1 if all are −∞.</summary>
    internal static int ArgMax(ReadOnlySpan<double> row)
    {
        var best = double.NegativeInfinity;
        foreach (var x in row)
        {
            best = Math.Max(best, x);
        }
        if (double.IsNegativeInfinity(best))
        {
            return -1;
        }
        var slack = TieTolerance * Math.Max(1.0, Math.Abs(best));
        for (var i = 0; i < row.Length; i++)
        {
            if (row[i] >= best - slack)
            {
                return i;
            }
        }
        return -1;
    }
}
