using Telos.Environments;

namespace Telos.Objectives;

/// <summary>
/// A state objective compiled for the planning hot path: the value of states given their
/// precomputed features, in batches. Linear, sparse and monotone-linear forms are dot products;
/// neural forms run one batched forward pass per call.
/// </summary>
public interface ICompiledObjective
{
    /// <summary>The feature columns this evaluator reads, in order (F = <see cref="FeatureSchema.Count"/>).</summary>
    FeatureSchema Features { get; }

    /// <summary>
    /// Writes V(s) for N states: <paramref name="features"/> is row-major <c>[N, F]</c>,
    /// <paramref name="values"/> is <c>[N]</c>. N = 0 is allowed and writes nothing.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="features"/>.Length ≠ N·F.</exception>
    void Evaluate(ReadOnlySpan<double> features, Span<double> values);
}

/// <summary>
/// A transition objective R(s, s′) over features, with each state's terminal flag, for objectives
/// that are not plain state values (potential shaping). A state objective V is the transition
/// objective R(s, s′) = V(s′): the reward for arriving.
/// </summary>
public interface ITransitionObjective
{
    /// <summary>The feature columns read from both states.</summary>
    FeatureSchema Features { get; }

    /// <summary>
    /// Writes R(sᵢ, s′ᵢ) for N transitions: <paramref name="from"/> and <paramref name="to"/> are
    /// <c>[N, F]</c>, the terminal flags and <paramref name="rewards"/> are <c>[N]</c>.
    /// </summary>
    void Evaluate(ReadOnlySpan<double> from, ReadOnlySpan<bool> fromTerminal, ReadOnlySpan<double> to, ReadOnlySpan<bool> toTerminal, Span<double> rewards);
}

/// <summary>Shape checks shared by the evaluators.</summary>
internal static class ObjectiveShapes
{
    public static void Check(int featureLength, int rows, int featureCount, string name = "features")
    {
        if ((long)rows * featureCount != featureLength)
        {
            throw new ArgumentException($"{name} has {featureLength} values; expected [N={rows}, F={featureCount}] = {(long)rows * featureCount}", name);
        }
    }
}
