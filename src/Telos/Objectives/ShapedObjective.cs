using Telos.Environments;

namespace Telos.Objectives;

/// <summary>
/// Potential shaping (Ng et al. 1999): R(s, s′) = U(s′) + γΦ′(s′) − Φ′(s), with Φ′ = 0 on terminal
/// states. Because the shaping telescopes along any trajectory, the optimal policy under R equals
/// the one under U; EPIC distance between the two is 0.
/// </summary>
public sealed class ShapedObjective : ITransitionObjective
{
    private double[] _scratch = [];

    /// <param name="baseObjective">U, the state value for arriving.</param>
    /// <param name="potential">Φ over the same features.</param>
    /// <param name="gamma">Discount γ in [0, 1].</param>
    /// <exception cref="ArgumentException">The two objectives read different features, or γ is outside [0, 1].</exception>
    public ShapedObjective(ICompiledObjective baseObjective, ICompiledObjective potential, double gamma)
    {
        if (!baseObjective.Features.Equals(potential.Features))
        {
            throw new ArgumentException("base and potential must read the same features", nameof(potential));
        }
        if (!(gamma >= 0 && gamma <= 1))
        {
            throw new ArgumentException($"gamma {gamma} is outside [0, 1]", nameof(gamma));
        }
        Base = baseObjective;
        Potential = potential;
        Gamma = gamma;
    }

    public FeatureSchema Features => Base.Features;

    /// <summary>U.</summary>
    public ICompiledObjective Base { get; }

    /// <summary>Φ.</summary>
    public ICompiledObjective Potential { get; }

    /// <summary>γ.</summary>
    public double Gamma { get; }

    /// <remarks>Not thread-safe: reuses a scratch buffer of 2N doubles.</remarks>
    public void Evaluate(ReadOnlySpan<double> from, ReadOnlySpan<bool> fromTerminal, ReadOnlySpan<double> to, ReadOnlySpan<bool> toTerminal, Span<double> rewards)
    {
        var n = rewards.Length;
        if (_scratch.Length < 2 * n)
        {
            _scratch = new double[2 * n];
        }
        var phiFrom = _scratch.AsSpan(0, n);
        var phiTo = _scratch.AsSpan(n, n);
        Base.Evaluate(to, rewards);
        Potential.Evaluate(from, phiFrom);
        Potential.Evaluate(to, phiTo);
        for (var i = 0; i < n; i++)
        {
            var pTo = toTerminal[i] ? 0.0 : phiTo[i];
            var pFrom = fromTerminal[i] ? 0.0 : phiFrom[i];
            rewards[i] += Gamma * pTo - pFrom;
        }
    }
}

/// <summary>A state objective read as a transition objective: R(s, s′) = V(s′).</summary>
public sealed class ArrivalReward : ITransitionObjective
{
    /// <param name="objective">V.</param>
    public ArrivalReward(ICompiledObjective objective) => Objective = objective;

    /// <summary>V.</summary>
    public ICompiledObjective Objective { get; }

    public FeatureSchema Features => Objective.Features;

    public void Evaluate(ReadOnlySpan<double> from, ReadOnlySpan<bool> fromTerminal, ReadOnlySpan<double> to, ReadOnlySpan<bool> toTerminal, Span<double> rewards) =>
        Objective.Evaluate(to, rewards);
}
