using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp.Modules;
using TorchSharp;
using static Telos.Learning.Native.TensorMemory;
using static TorchSharp.torch;

namespace Telos.Learning.Optimization;

/// <summary>
/// Adam (Kingma &amp; Ba 2015, in PyTorch's form: bias-corrected moments, ε added to the corrected
/// root) with global gradient-norm clipping, both as managed SIMD passes over the parameters' and
/// gradients' memory, instead of LibTorch's chain of elementwise ops per parameter (about ten op
/// calls each for Adam, three for the clip). For small networks, where each op's dispatch costs
/// more than its arithmetic.
/// <para>One <see cref="Step"/> does what <c>clip_grad_norm_(parameters, maxNorm)</c> followed by
/// <c>torch.optim.Adam.step()</c> do: the gradients' global L2 norm n (accumulated in double), the
/// factor min(1, maxNorm / (n + 1e-6)), then per element g ← factor·g,
/// m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², p ← p − (lr / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε),
/// in float32. The same function to float rounding as LibTorch's ops (<c>FusedAdamTests</c> checks
/// it against them to 1e-6 over several steps), not bit-identical: LibTorch's order of summation
/// and its fused multiply-adds differ.</para>
/// <para>Parameters that have no gradient are skipped (their moments and step count unchanged), as
/// <c>torch.optim.Adam</c> skips them. The moments are float32 tensors shaped like their
/// parameters (<see cref="ExpAvg"/>, <see cref="ExpAvgSq"/>), so checkpoints hold them under the
/// same names as LibTorch's Adam state (<see cref="Runs.AdamCheckpoint"/>).</para>
/// </summary>
/// <remarks>Not thread-safe. Owns its moment tensors; the parameters stay the caller's.</remarks>
public sealed class FusedAdam : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _expAvg;
    private readonly Tensor[] _expAvgSq;
    private readonly long[] _steps;

    /// <summary>Adam over <paramref name="parameters"/> (float32, contiguous, on the CPU).</summary>
    /// <param name="parameters">The parameters, in the order the moments and step counts are numbered.</param>
    /// <param name="learningRate">The rate; <see cref="LearningRate"/> changes it between steps.</param>
    /// <param name="beta1">β₁ (PyTorch's default 0.9).</param>
    /// <param name="beta2">β₂ (PyTorch's default 0.999).</param>
    /// <param name="eps">ε (PyTorch's default 1e-8).</param>
    /// <exception cref="ArgumentException">No parameters, a parameter that is not a contiguous float32 CPU tensor, or a rate, β or ε out of range.</exception>
    public FusedAdam(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = [.. parameters];
        if (_parameters.Length == 0)
        {
            throw new ArgumentException("FusedAdam needs at least one parameter", nameof(parameters));
        }
        if (!(learningRate >= 0) || !(beta1 is >= 0 and < 1) || !(beta2 is >= 0 and < 1) || !(eps > 0))
        {
            throw new ArgumentException($"learning rate {learningRate} must be ≥ 0, β₁ {beta1} and β₂ {beta2} in [0, 1), ε {eps} > 0");
        }
        foreach (var p in _parameters)
        {
            if (p.dtype != ScalarType.Float32 || p.device_type != DeviceType.CPU || !p.is_contiguous())
            {
                throw new ArgumentException($"FusedAdam runs contiguous float32 CPU parameters; got {p.dtype} on {p.device_type}", nameof(parameters));
            }
        }
        (LearningRate, Beta1, Beta2, Eps) = (learningRate, beta1, beta2, eps);
        _expAvg = new Tensor[_parameters.Length];
        _expAvgSq = new Tensor[_parameters.Length];
        _steps = new long[_parameters.Length];
        for (var i = 0; i < _parameters.Length; i++)
        {
            _expAvg[i] = zeros_like(_parameters[i]).DetachFromDisposeScope();
            _expAvgSq[i] = zeros_like(_parameters[i]).DetachFromDisposeScope();
        }
    }

    /// <summary>The learning rate of the next <see cref="Step"/>.</summary>
    public double LearningRate { get; set; }

    /// <summary>β₁.</summary>
    public double Beta1 { get; }

    /// <summary>β₂.</summary>
    public double Beta2 { get; }

    /// <summary>ε.</summary>
    public double Eps { get; }

    /// <summary>The parameters, in order.</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>First moments, one per parameter (live: copy them before the next step to keep them).</summary>
    public IReadOnlyList<Tensor> ExpAvg => _expAvg;

    /// <summary>Second moments, one per parameter (live).</summary>
    public IReadOnlyList<Tensor> ExpAvgSq => _expAvgSq;

    /// <summary>Steps taken per parameter (a parameter without a gradient at a step is not counted).</summary>
    public IReadOnlyList<long> Steps => _steps;

    /// <summary>Zeroes every gradient that exists, in place (no LibTorch op; the next backward accumulates into it).</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            if (grad is not null)
            {
                grad.bytes.Clear();
            }
        }
    }

    /// <summary>
    /// The global L2 norm of every gradient (double accumulation; the norm <c>clip_grad_norm_</c>
    /// returns, to float rounding). Parameters without a gradient count as zero.
    /// </summary>
    public double GradientNorm()
    {
        var sum = 0.0;
        foreach (var p in _parameters)
        {
            using var grad = p.grad;
            if (grad is not null)
            {
                sum += SumOfSquares(Floats(RequireContiguous(grad)));
            }
        }
        return Math.Sqrt(sum);
    }

    /// <summary>
    /// Clips the gradients to a global norm of <paramref name="maxGradNorm"/> and takes one Adam
    /// step; returns the norm before clipping. When that norm is NaN or infinite nothing is changed
    /// (neither the parameters, the moments, the step counts nor the gradients), so a caller can
    /// refuse the step.
    /// </summary>
    /// <param name="maxGradNorm">The clip, > 0; <see cref="double.PositiveInfinity"/> for none.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxGradNorm"/> is not > 0.</exception>
    public double Step(double maxGradNorm)
    {
        if (!(maxGradNorm > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(maxGradNorm), maxGradNorm, "the gradient-norm clip must be > 0");
        }
        var norm = GradientNorm();
        if (!double.IsFinite(norm))
        {
            return norm;
        }
        // clip_grad_norm_: the factor max_norm / (norm + 1e-6), clamped to 1, applied in float.
        var factor = (float)Math.Min(1.0, maxGradNorm / (norm + 1e-6));
        for (var i = 0; i < _parameters.Length; i++)
        {
            using var grad = _parameters[i].grad;
            if (grad is null)
            {
                continue;
            }
            var step = ++_steps[i];
            var biasCorrection1 = 1 - Math.Pow(Beta1, step);
            var biasCorrection2 = 1 - Math.Pow(Beta2, step);
            var stepSize = LearningRate / biasCorrection1;
            AdamKernel.Update(Floats(_parameters[i]), Floats(RequireContiguous(grad)), Floats(_expAvg[i]), Floats(_expAvgSq[i]), factor,
                (float)Beta1, (float)(1 - Beta1), (float)Beta2, (float)(1 - Beta2), (float)Math.Sqrt(biasCorrection2), (float)Eps, (float)-stepSize);
        }
        return norm;
    }

    /// <summary>
    /// Puts back moments and step counts (a checkpoint's): <paramref name="expAvg"/>[i] and
    /// <paramref name="expAvgSq"/>[i] are copied into parameter i's moments.
    /// </summary>
    /// <exception cref="ArgumentException">Another number of parameters, a moment of another shape, or a negative step count.</exception>
    public void Restore(IReadOnlyList<Tensor> expAvg, IReadOnlyList<Tensor> expAvgSq, IReadOnlyList<long> steps)
    {
        ArgumentNullException.ThrowIfNull(expAvg);
        ArgumentNullException.ThrowIfNull(expAvgSq);
        ArgumentNullException.ThrowIfNull(steps);
        if (expAvg.Count != _parameters.Length || expAvgSq.Count != _parameters.Length || steps.Count != _parameters.Length)
        {
            throw new ArgumentException($"state for {steps.Count} parameters, the optimizer has {_parameters.Length}");
        }
        for (var i = 0; i < _parameters.Length; i++)
        {
            if (!expAvg[i].shape.SequenceEqual(_expAvg[i].shape) || !expAvgSq[i].shape.SequenceEqual(_expAvgSq[i].shape) || steps[i] < 0)
            {
                throw new ArgumentException($"moment {i} is [{string.Join(", ", expAvg[i].shape)}] / [{string.Join(", ", expAvgSq[i].shape)}] at step {steps[i]}; the parameter is [{string.Join(", ", _expAvg[i].shape)}]");
            }
        }
        using var noGrad = no_grad();
        for (var i = 0; i < _parameters.Length; i++)
        {
            _expAvg[i].copy_(expAvg[i]);
            _expAvgSq[i].copy_(expAvgSq[i]);
            _steps[i] = steps[i];
        }
    }

    public void Dispose()
    {
        foreach (var t in _expAvg)
        {
            t.Dispose();
        }
        foreach (var t in _expAvgSq)
        {
            t.Dispose();
        }
    }

    private static Tensor RequireContiguous(Tensor grad) =>
        grad.dtype == ScalarType.Float32 && grad.is_contiguous() ? grad : throw new InvalidOperationException($"FusedAdam needs contiguous float32 gradients; got {grad.dtype}");


    private static double SumOfSquares(ReadOnlySpan<float> x)
    {
        var sum = 0.0;
        var k = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<double>.Count)
        {
            // Widen to double per element: the sum of squares of ~1e5 floats loses nothing that matters.
            var acc = Vector<double>.Zero;
            var floats = MemoryMarshal.Cast<float, Vector<float>>(x);
            foreach (var v in floats)
            {
                Vector.Widen(v, out var low, out var high);
                acc += low * low + high * high;
            }
            sum = Vector.Sum(acc);
            k = floats.Length * Vector<float>.Count;
        }
        for (; k < x.Length; k++)
        {
            sum += (double)x[k] * x[k];
        }
        return sum;
    }
}

/// <summary>The elementwise arithmetic of <see cref="FusedAdam.Step"/> on flat float spans; allocates nothing.</summary>
internal static class AdamKernel
{
    /// <summary>
    /// g = factor·grad (written back, as clip_grad_norm_ leaves it); m = β₁m + (1 − β₁)g;
    /// v = β₂v + (1 − β₂)g·g; p += negativeStepSize·m / (√v / root2 + ε).
    /// </summary>
    public static void Update(Span<float> parameter, Span<float> grad, Span<float> expAvg, Span<float> expAvgSq, float factor,
        float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2, float root2, float eps, float negativeStepSize)
    {
        var n = parameter.Length;
        var k = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var (vFactor, vB1, vC1, vB2, vC2, vRoot2, vEps, vStep) = (new Vector<float>(factor), new Vector<float>(beta1), new Vector<float>(oneMinusBeta1),
                new Vector<float>(beta2), new Vector<float>(oneMinusBeta2), new Vector<float>(root2), new Vector<float>(eps), new Vector<float>(negativeStepSize));
            var ps = MemoryMarshal.Cast<float, Vector<float>>(parameter);
            var gs = MemoryMarshal.Cast<float, Vector<float>>(grad);
            var ms = MemoryMarshal.Cast<float, Vector<float>>(expAvg);
            var vs = MemoryMarshal.Cast<float, Vector<float>>(expAvgSq);
            for (var i = 0; i < ps.Length; i++)
            {
                var g = gs[i] * vFactor;
                var m = ms[i] * vB1 + g * vC1;
                var v = vs[i] * vB2 + g * g * vC2;
                gs[i] = g;
                ms[i] = m;
                vs[i] = v;
                ps[i] += vStep * (m / (Vector.SquareRoot(v) / vRoot2 + vEps));
            }
            k = ps.Length * Vector<float>.Count;
        }
        for (; k < n; k++)
        {
            var g = grad[k] * factor;
            var m = expAvg[k] * beta1 + g * oneMinusBeta1;
            var v = expAvgSq[k] * beta2 + g * g * oneMinusBeta2;
            (grad[k], expAvg[k], expAvgSq[k]) = (g, m, v);
            parameter[k] += negativeStepSize * (m / (MathF.Sqrt(v) / root2 + eps));
        }
    }
}
