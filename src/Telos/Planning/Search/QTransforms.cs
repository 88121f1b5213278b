namespace Telos.Planning.Search;

/// <summary>
/// Turns a node's child Q-values into the scores a selection rule adds (mctx's <c>qtransform</c>).
/// Implementations must not allocate: they are called once per node on every simulation path.
/// </summary>
public interface IQTransform
{
    /// <summary>
    /// Writes one score per action of node <paramref name="node"/> in the tree of <paramref name="root"/>
    /// into <paramref name="output"/> (length A). Entries of invalid actions are written but never used.
    /// </summary>
    void Transform(SearchTree tree, int root, int node, Span<float> output);
}

/// <summary>
/// Fixed min-max normalisation (mctx <c>qtransform_by_min_max</c>): visited children score
/// (Q − min)/(max − min), unvisited ones score 0. Use when the value range is known.
/// </summary>
public sealed class MinMaxQTransform : IQTransform
{
    private readonly float _min;
    private readonly float _scale;

    /// <summary>Normalises with the known range [<paramref name="min"/>, <paramref name="max"/>].</summary>
    /// <exception cref="ArgumentException"><paramref name="max"/> ≤ <paramref name="min"/>.</exception>
    public MinMaxQTransform(float min, float max)
    {
        if (!(max > min))
        {
            throw new ArgumentException($"max ({max}) must exceed min ({min})", nameof(max));
        }
        _min = min;
        _scale = 1f / (max - min);
        Min = min;
        Max = max;
    }

    /// <summary>The lower end of the value range.</summary>
    public float Min { get; }

    /// <summary>The upper end of the value range.</summary>
    public float Max { get; }

    /// <inheritdoc/>
    public void Transform(SearchTree tree, int root, int node, Span<float> output)
    {
        var n = tree.ActionCount;
        var visits = tree.VisitRow(tree.NodeOffset(root, node));
        var qValues = tree.QRow(tree.NodeOffset(root, node));
        output = output[..n];
        for (var a = 0; a < output.Length; a++)
        {
            output[a] = visits[a] > 0 ? (qValues[a] - _min) * _scale : 0f;
        }
    }
}

/// <summary>
/// Min-max normalisation over the parent's value and its visited children's Q (mctx
/// <c>qtransform_by_parent_and_siblings</c>, MuZero's default): unvisited children score 0.
/// </summary>
public sealed class ParentAndSiblingsQTransform : IQTransform
{
    private readonly float _epsilon;

    /// <summary>Normalises by the observed range, at least <paramref name="epsilon"/> wide.</summary>
    public ParentAndSiblingsQTransform(float epsilon = 1e-8f)
    {
        _epsilon = epsilon;
    }

    /// <summary>Smallest range used when normalising.</summary>
    public float Epsilon => _epsilon;

    /// <inheritdoc/>
    public void Transform(SearchTree tree, int root, int node, Span<float> output)
    {
        var n = tree.ActionCount;
        var visits = tree.VisitRow(tree.NodeOffset(root, node));
        var qValues = tree.QRow(tree.NodeOffset(root, node));
        var nodeValue = tree.ValueAt(tree.NodeOffset(root, node));
        output = output[..n];
        var min = nodeValue;
        var max = nodeValue;
        for (var a = 0; a < output.Length; a++)
        {
            if (visits[a] > 0)
            {
                var q = qValues[a];
                output[a] = q;
                min = MathF.Min(min, q);
                max = MathF.Max(max, q);
            }
        }
        var scale = 1f / MathF.Max(max - min, _epsilon);
        for (var a = 0; a < output.Length; a++)
        {
            output[a] = visits[a] > 0 ? (output[a] - min) * scale : 0f;
        }
    }
}

/// <summary>
/// Gumbel MuZero's completed Q (mctx <c>qtransform_completed_by_mix_value</c>): unvisited actions
/// get the mixed value v_mix = (v̂ + Σ_b N(b) · Σ_{visited a} π(a) Q(a) / Σ_{visited a} π(a)) / (1 + Σ_b N(b)),
/// the completed values are min-max rescaled to [0, 1] over the valid actions, then scaled by
/// σ = (maxvisit_init + max_a N(a)) · value_scale.
/// </summary>
public sealed class CompletedByMixValueQTransform : IQTransform
{
    // jnp.finfo(float32).tiny: the smallest positive normal float.
    internal const float SmallestNormal = 1.17549435e-38f;

    /// <summary>Transform with the paper's defaults: value_scale 0.1, maxvisit_init 50.</summary>
    public CompletedByMixValueQTransform(float valueScale = 0.1f, float maxVisitInit = 50f, bool rescaleValues = true, bool useMixedValue = true, float epsilon = 1e-8f)
    {
        ValueScale = valueScale;
        MaxVisitInit = maxVisitInit;
        RescaleValues = rescaleValues;
        UseMixedValue = useMixedValue;
        Epsilon = epsilon;
    }

    /// <summary>value_scale in σ.</summary>
    public float ValueScale { get; }

    /// <summary>maxvisit_init in σ.</summary>
    public float MaxVisitInit { get; }

    /// <summary>Whether completed Q is min-max rescaled to [0, 1] before σ.</summary>
    public bool RescaleValues { get; }

    /// <summary>Whether unvisited actions get the mixed value (else the raw network value).</summary>
    public bool UseMixedValue { get; }

    /// <summary>Smallest range used when rescaling.</summary>
    public float Epsilon { get; }

    /// <inheritdoc/>
    public void Transform(SearchTree tree, int root, int node, Span<float> output)
    {
        var o = tree.NodeOffset(root, node);
        var n = tree.ActionCount;
        var visits = tree.VisitRow(o);
        var qValues = tree.QRow(o);
        var priors = tree.PriorRow(o);
        var valid = tree.ValidRow(o);
        output = output[..n];

        var visitSum = 0;
        var maxVisit = 0;
        var visitedProbability = 0f;
        var weightedQ = 0f;
        for (var a = 0; a < output.Length; a++)
        {
            var v = visits[a];
            if (v > 0)
            {
                var q = qValues[a];
                output[a] = q;
                visitSum += v;
                maxVisit = Math.Max(maxVisit, v);
                // mctx floors the prior at the smallest normal float so visited zero-prior actions keep a weight.
                var p = MathF.Max(priors[a], SmallestNormal);
                visitedProbability += p;
                weightedQ += p * q;
            }
        }
        var rawValue = tree.RawValueAt(tree.NodeOffset(root, node));
        var mixed = rawValue;
        if (UseMixedValue && visitSum > 0)
        {
            mixed = (rawValue + visitSum * (weightedQ / visitedProbability)) / (visitSum + 1);
        }

        var min = float.PositiveInfinity;
        var max = float.NegativeInfinity;
        for (var a = 0; a < output.Length; a++)
        {
            if (visits[a] == 0)
            {
                output[a] = mixed;
            }
            if (valid[a])
            {
                min = MathF.Min(min, output[a]);
                max = MathF.Max(max, output[a]);
            }
        }
        var sigma = (MaxVisitInit + maxVisit) * ValueScale;
        if (RescaleValues && min <= max)
        {
            var scale = sigma / MathF.Max(max - min, Epsilon);
            for (var a = 0; a < output.Length; a++)
            {
                output[a] = (output[a] - min) * scale;
            }
        }
        else
        {
            for (var a = 0; a < output.Length; a++)
            {
                output[a] *= sigma;
            }
        }
    }
}
