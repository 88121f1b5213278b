namespace Telos.Planning.Exact;

/// <summary>
/// What (soft) value iteration returns: state values, action values and a policy, all over the
/// state indices of a <see cref="TabularMdp"/>.
/// </summary>
public sealed class TabularSolution
{
    internal TabularSolution(int stateCount, int actionCount, double[] values, double[] q, double[] policy,
        double[]? policySchedule, int iterations, bool converged, double discount, double? temperature)
    {
        StateCount = stateCount;
        ActionCount = actionCount;
        Values = values;
        Q = q;
        Policy = policy;
        PolicySchedule = policySchedule;
        Iterations = iterations;
        Converged = converged;
        Discount = discount;
        Temperature = temperature;
    }

    /// <summary>S.</summary>
    public int StateCount { get; }

    /// <summary>A.</summary>
    public int ActionCount { get; }

    /// <summary>V [S]. For a horizon-limited solve, the value with the full horizon still to go.</summary>
    public double[] Values { get; }

    /// <summary>Q [S, A] row-major; illegal actions hold <see cref="double.NegativeInfinity"/>.</summary>
    public double[] Q { get; }

    /// <summary>
    /// π [S, A] row-major, each legal row summing to 1. Hard value iteration: one-hot on the lowest
    /// index among the best actions (so a shortest path is followed deterministically). Soft value
    /// iteration: softmax(Q/τ) over legal actions. A state with no legal action has an all-zero row.
    /// </summary>
    public double[] Policy { get; }

    /// <summary>
    /// Horizon-limited solves only: the time-varying policy [H, S, A], where block k is the policy
    /// with k+1 steps to go (so a rollout from t = 0 uses block H−1−t). Null for discounted solves.
    /// </summary>
    public double[]? PolicySchedule { get; }

    /// <summary>Backups performed.</summary>
    public int Iterations { get; }

    /// <summary>Discounted solve: the largest value change fell below the tolerance. Horizon solve: always true.</summary>
    public bool Converged { get; }

    /// <summary>γ used.</summary>
    public double Discount { get; }

    /// <summary>τ for soft value iteration; null for hard.</summary>
    public double? Temperature { get; }

    /// <summary>The horizon H of a horizon-limited solve, or 0.</summary>
    public int Horizon => PolicySchedule is null ? 0 : PolicySchedule.Length / (StateCount * ActionCount);

    /// <summary>The greedy action at <paramref name="state"/> (lowest index among ties), or −1 if none is legal.</summary>
    public int GreedyAction(int state)
    {
        var row = Q.AsSpan(state * ActionCount, ActionCount);
        return ValueIteration.ArgMax(row);
    }

    /// <summary>The policy row π(·|<paramref name="state"/>), [A].</summary>
    public ReadOnlySpan<double> PolicyAt(int state) => Policy.AsSpan(state * ActionCount, ActionCount);
}
