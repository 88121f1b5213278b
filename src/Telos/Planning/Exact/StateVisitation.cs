namespace Telos.Planning.Exact;

/// <summary>
/// Expected discounted state visitation under a policy — the forward pass of MaxEnt IRL, whose
/// gradient is (demonstrated feature counts − expected feature counts).
/// </summary>
/// <remarks>
/// Counts follow <see cref="ValueIteration"/>'s arrival-reward convention: D[s] = Σₜ₌₀^{H−1} γᵗ P(sₜ₊₁ = s),
/// so the policy's return is exactly Σₛ D[s] · r[s]. The start state is not counted, and nothing
/// is counted after a terminating transition.
/// </remarks>
public static class StateVisitation
{
    /// <summary>Expected discounted arrivals D [S] when following <paramref name="solution"/>'s policy.</summary>
    /// <param name="mdp">The level's transition table.</param>
    /// <param name="solution">Its policy; a horizon-limited solution's time-varying policy is used step by step.</param>
    /// <param name="start">Start distribution [S] (sums to 1; a one-hot for a single start state).</param>
    /// <param name="horizon">Steps H; for a horizon-limited solution it must not exceed the solution's horizon.</param>
    /// <exception cref="ArgumentException">Sizes do not match, or the horizon is longer than the policy schedule.</exception>
    public static double[] Expected(TabularMdp mdp, TabularSolution solution, ReadOnlySpan<double> start, int horizon)
    {
        ArgumentNullException.ThrowIfNull(mdp);
        ArgumentNullException.ThrowIfNull(solution);
        ArgumentOutOfRangeException.ThrowIfNegative(horizon);
        var s = mdp.StateCount;
        var a = mdp.ActionCount;
        if (solution.StateCount != s || solution.ActionCount != a || start.Length != s)
        {
            throw new ArgumentException($"sizes disagree: MDP [{s}, {a}], solution [{solution.StateCount}, {solution.ActionCount}], start [{start.Length}]");
        }
        var scheduled = solution.PolicySchedule;
        if (scheduled is not null && horizon > solution.Horizon)
        {
            throw new ArgumentException($"horizon {horizon} exceeds the solution's horizon {solution.Horizon}", nameof(horizon));
        }
        var next = mdp.NextStates;
        var ends = mdp.Terminations;
        var gamma = solution.Discount;
        var visits = new double[s];
        var current = start.ToArray();
        var following = new double[s];
        var weight = 1.0;
        for (var t = 0; t < horizon; t++)
        {
            ReadOnlySpan<double> policy = scheduled is null
                ? solution.Policy
                : scheduled.AsSpan((solution.Horizon - 1 - t) * s * a, s * a);
            Array.Clear(following);
            for (var i = 0; i < s; i++)
            {
                var mass = current[i];
                if (mass == 0)
                {
                    continue;
                }
                for (var action = 0; action < a; action++)
                {
                    var k = i * a + action;
                    var p = policy[k];
                    if (p == 0 || next[k] < 0)
                    {
                        continue;
                    }
                    var arrived = mass * p;
                    visits[next[k]] += weight * arrived;
                    if (!ends[k])
                    {
                        following[next[k]] += arrived;
                    }
                }
            }
            (current, following) = (following, current);
            weight *= gamma;
        }
        return visits;
    }
}
