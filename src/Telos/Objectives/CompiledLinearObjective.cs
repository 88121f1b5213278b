using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Telos.Environments;

namespace Telos.Objectives;

/// <summary>
/// V(s) = b + Σ_f w_f·φ_f(s): a linear objective over named features, compiled to a dot product.
/// Immutable and thread-safe. The batch kernel reads row-major <c>[N, F]</c> features. With AVX2
/// and F a multiple of 4 it takes four rows at a time: per row a 4-wide FMA accumulator over the
/// row, then one horizontal-add/permute step reduces the four accumulators into four values at once.
/// Other shapes use SIMD dot products per row (F ≥ <see cref="Vector{T}.Count"/>) or an unrolled
/// scalar loop over four rows (independent accumulators keep the FP adders busy).
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
        if (f % 4 == 0 && Avx.IsSupported && Fma.IsSupported)
        {
            FourRowsAvx(features, values, f);
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

    private void FourRowsAvx(ReadOnlySpan<double> features, Span<double> values, int f)
    {
        ref var w = ref MemoryMarshal.GetArrayDataReference(_weights);
        ref var x = ref MemoryMarshal.GetReference(features);
        ref var v = ref MemoryMarshal.GetReference(values);
        var n = values.Length;
        var bias = Vector256.Create(Bias);
        var i = 0;
        for (; i + 4 <= n; i += 4)
        {
            ref var r0 = ref Unsafe.Add(ref x, i * f);
            ref var r1 = ref Unsafe.Add(ref r0, f);
            ref var r2 = ref Unsafe.Add(ref r1, f);
            ref var r3 = ref Unsafe.Add(ref r2, f);
            var a0 = Vector256<double>.Zero;
            var a1 = Vector256<double>.Zero;
            var a2 = Vector256<double>.Zero;
            var a3 = Vector256<double>.Zero;
            for (var k = 0; k < f; k += 4)
            {
                var wk = Vector256.LoadUnsafe(ref w, (nuint)k);
                a0 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r0, (nuint)k), wk, a0);
                a1 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r1, (nuint)k), wk, a1);
                a2 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r2, (nuint)k), wk, a2);
                a3 = Fma.MultiplyAdd(Vector256.LoadUnsafe(ref r3, (nuint)k), wk, a3);
            }
            // [a0₀+a0₁, a1₀+a1₁, a0₂+a0₃, a1₂+a1₃] and the same for rows 2, 3; then fold the 128-bit halves.
            var h01 = Avx.HorizontalAdd(a0, a1);
            var h23 = Avx.HorizontalAdd(a2, a3);
            var sum = Avx.Permute2x128(h01, h23, 0x20) + Avx.Permute2x128(h01, h23, 0x31);
            (sum + bias).StoreUnsafe(ref v, (nuint)i);
        }
        RemainingRows(i, features, values, f);
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
        RemainingRows(i, features, values, f);
    }

    /// <summary>Rows <paramref name="first"/>.. one at a time, bias first, in feature order (the last n mod 4 rows of both paths).</summary>
    private void RemainingRows(int first, ReadOnlySpan<double> features, Span<double> values, int f)
    {
        ref var w = ref MemoryMarshal.GetArrayDataReference(_weights);
        ref var x = ref MemoryMarshal.GetReference(features);
        ref var v = ref MemoryMarshal.GetReference(values);
        for (var i = first; i < values.Length; i++)
        {
            ref var r = ref Unsafe.Add(ref x, i * f);
            var a = Bias;
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
