using Telos.Environments;

namespace Telos.Objectives;

/// <summary>
/// A penalty added by an edit: V ← V − <see cref="Weight"/>·max(0, φ − <see cref="Above"/>) for
/// the named feature. With <see cref="Above"/> = 0 and a non-negative feature it is a linear cost.
/// </summary>
/// <param name="Feature">The feature penalized.</param>
/// <param name="Weight">Cost per unit above the threshold; positive lowers V.</param>
/// <param name="Above">The threshold below which nothing is charged.</param>
public readonly record struct PenaltyTerm(string Feature, double Weight, double Above = 0.0)
{
    /// <summary>The amount subtracted for feature value <paramref name="value"/>.</summary>
    public double Cost(double value) => Weight * Math.Max(0.0, value - Above);
}

/// <summary>An objective with hinge penalties subtracted; the penalty columns are bound once.</summary>
public sealed class PenalizedObjective : ICompiledObjective
{
    private readonly ICompiledObjective _inner;
    private readonly int[] _columns;
    private readonly PenaltyTerm[] _terms;

    /// <exception cref="TelosInputException">A penalty names a feature the inner objective does not read.</exception>
    public PenalizedObjective(ICompiledObjective inner, IEnumerable<PenaltyTerm> terms)
    {
        _inner = inner;
        _terms = terms.ToArray();
        _columns = _terms.Select(t => inner.Features.Require(t.Feature)).ToArray();
    }

    public FeatureSchema Features => _inner.Features;

    /// <summary>The objective before penalties.</summary>
    public ICompiledObjective Inner => _inner;

    public void Evaluate(ReadOnlySpan<double> features, Span<double> values)
    {
        _inner.Evaluate(features, values);
        var f = Features.Count;
        for (var i = 0; i < values.Length; i++)
        {
            var row = features.Slice(i * f, f);
            for (var t = 0; t < _terms.Length; t++)
            {
                values[i] -= _terms[t].Cost(row[_columns[t]]);
            }
        }
    }
}
