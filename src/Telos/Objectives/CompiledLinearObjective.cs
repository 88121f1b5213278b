using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Telos.Environments;

namespace Telos.Objectives;

/// <summary>
/// V(s) = b + Σ_f w_f·φ_f(s): a linear objective over named features, compiled to a dot product.
/// Immutable and thread-safe. The batch kernel reads row-major <c>[N, F]</c> features; rows with
/// F ≥ <see cref="Vector{T}.Count"/> use SIMD, short rows an unrolled scalar loop over four rows at
/// a time (independent accumulators keep the FP adders busy).
/// </summary>
public sealed class CompiledLinearObjective : ICompiledObjective
{
    private readonly double[] _weights;

    /// <param name="features">The columns the weights apply to.</param>
    /// <param name="weights">One weight per feature, [F].</param>
    /// <param name="bias">The constant b.</param>
    /// <exception cref="ArgumentException">Weight count ≠ F, or a weight or the bias is not finite.</exception>
    public CompiledLinearObjective(FeatureSchema features, ReadOnlySpan<double> weights, double bias = 0.0)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (weights.Length != features.Count)
        {
            throw new ArgumentException($"{weights.Length} weights for {features.Count} features", nameof(weights));
        }
        for (var i = 0; i < weights.Length; i++)
        {
            if (!double.IsFinite(weights[i]))
            {
                throw new ArgumentException($"weight of '{features.Names[i]}' is {weights[i]}", nameof(weights));
            }
        }
        if (!double.IsFinite(bias))
        {
            throw new ArgumentException($"bias is {bias}", nameof(bias));
        }
        Features = features;
        _weights = weights.ToArray();
        Bias = bias;
    }

    public FeatureSchema Features { get; }

    /// <summary>The weights in column order, [F].</summary>
    public ReadOnlySpan<double> Weights => _weights;

    /// <summary>The constant term.</summary>
    public double Bias { get; }

    /// <summary>V of one state's features, [F].</summary>
    public double Evaluate(ReadOnlySpan<double> features)
    {
        ObjectiveShapes.Check(features.Length, 1, _weights.Length);
        return Bias + Dot(features, _weights);
    }

    /// <inheritdoc />
    public void Evaluate(ReadOnlySpan<double> features, Span<double> values)
    {
        var f = _weights.Length;
        var n = values.Length;
        ObjectiveShapes.Check(features.Length, n, f);
        if (f == 0)
        {
            values.Fill(Bias);
            return;
        }
        if (f >= Vector<double>.Count)
        {
            for (var i = 0; i < n; i++)
            {
                values[i] = Bias + Dot(features.Slice(i * f, f), _weights);
            }
            return;
        }
        ScalarRows(features, values, f);
    }

    private void ScalarRows(ReadOnlySpan<double> features, Span<double> values, int f)
    {
        ref var w = ref MemoryMarshal.GetArrayDataReference(_weights);
        ref var x = ref MemoryMarshal.GetReference(features);
        ref var v = ref MemoryMarshal.GetReference(values);
        var n = values.Length;
        var bias = Bias;
        var i = 0;
        for (; i + 4 <= n; i += 4)
        {
            ref var r0 = ref Unsafe.Add(ref x, i * f);
            ref var r1 = ref Unsafe.Add(ref r0, f);
            ref var r2 = ref Unsafe.Add(ref r1, f);
            ref var r3 = ref Unsafe.Add(ref r2, f);
            double a0 = bias, a1 = bias, a2 = bias, a3 = bias;
            for (var k = 0; k < f; k++)
            {
                var wk = Unsafe.Add(ref w, k);
                a0 += wk * Unsafe.Add(ref r0, k);
                a1 += wk * Unsafe.Add(ref r1, k);
                a2 += wk * Unsafe.Add(ref r2, k);
                a3 += wk * Unsafe.Add(ref r3, k);
            }
            Unsafe.Add(ref v, i) = a0;
            Unsafe.Add(ref v, i + 1) = a1;
            Unsafe.Add(ref v, i + 2) = a2;
            Unsafe.Add(ref v, i + 3) = a3;
        }
        for (; i < n; i++)
        {
            ref var r = ref Unsafe.Add(ref x, i * f);
            var a = bias;
            for (var k = 0; k < f; k++)
            {
                a += Unsafe.Add(ref w, k) * Unsafe.Add(ref r, k);
            }
            Unsafe.Add(ref v, i) = a;
        }
    }

    private static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> w)
    {
        var sum = 0.0;
        var k = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<double>.Count)
        {
            var acc = Vector<double>.Zero;
            for (; k + Vector<double>.Count <= x.Length; k += Vector<double>.Count)
            {
                acc += new Vector<double>(x.Slice(k)) * new Vector<double>(w.Slice(k));
            }
            sum = Vector.Sum(acc);
        }
        for (; k < x.Length; k++)
        {
            sum += x[k] * w[k];
        }
        return sum;
    }
}
