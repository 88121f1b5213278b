using System.Numerics;
using System.Runtime.InteropServices;

namespace Telos.Learning.Reinforcement.Policies;

/// <summary>Vector arithmetic on float spans that the managed kernels share, in a fixed order (same inputs → same bits on one machine).</summary>
internal static class FloatSpans
{
    /// <summary>y += a·x.</summary>
    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        var n = x.Length;
        var k = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var va = new Vector<float>(a);
            var xs = MemoryMarshal.Cast<float, Vector<float>>(x);
            var ys = MemoryMarshal.Cast<float, Vector<float>>(y);
            for (var v = 0; v < xs.Length; v++)
            {
                ys[v] = Vector.FusedMultiplyAdd(va, xs[v], ys[v]);
            }
            k = xs.Length * Vector<float>.Count;
        }
        for (; k < n; k++)
        {
            y[k] = MathF.FusedMultiplyAdd(a, x[k], y[k]);
        }
    }
}
