using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement.Policies;

/// <summary>How <see cref="LstmActorCritic"/> runs its LSTM through a sequence.</summary>
public enum LstmKernel
{
    /// <summary>
    /// LibTorch's <c>LSTMCell</c> once per tick under LibTorch's autograd (about 20 ATen ops a tick
    /// forward and as many backward); the kernel every run before the fused one existed trained with.
    /// </summary>
    LibTorch,

    /// <summary>
    /// The input projection for all ticks as one GEMM, then the recurrence, forward and backward,
    /// in managed SIMD code as one autograd node for the whole sequence (<see cref="LstmSequence"/>).
    /// The same function as <see cref="LibTorch"/> to float rounding (tested to 1e-5), not bit-identical.
    /// </summary>
    Fused,
}

/// <summary>
/// An LSTM run through a [T, B] block as one autograd node, for the small sizes PPO's policies use,
/// where LibTorch's per-op cost (dispatch, autograd node, allocation: ~10 µs) dwarfs each op's
/// arithmetic. The input projection x·W_ihᵀ + b_ih + b_hh for every tick is one LibTorch GEMM; the
/// recurrence (W_hh·h, the gates, the cell) and its backward run here, on the tensors' memory, with
/// <see cref="Vector{T}"/> arithmetic in a fixed order (same inputs → same bits on one machine).
/// Gate order and equations are PyTorch's <c>LSTMCell</c>: i, f, g, o; c = f·c + i·g; h = o·tanh(c).
/// Where keeps[t, b] is 0 the state is zeroed before tick t (state ← keep·state), as
/// <see cref="LstmActorCritic"/>'s LibTorch unroll does.
/// </summary>
public static class LstmSequence
{
    /// <summary>
    /// Runs the LSTM with weights <paramref name="weightIh"/> [4S, F], <paramref name="weightHh"/> [4S, S]
    /// and biases [4S] through <paramref name="inputs"/> [T, B, F] from <paramref name="hidden"/> and
    /// <paramref name="cell"/> [B, S], zeroing the state where <paramref name="keeps"/> [T, B] is 0
    /// (values other than 0 and 1 scale it). Differentiable with respect to every tensor but
    /// <paramref name="keeps"/> when autograd is on and one of them requires grad; otherwise no graph
    /// is built and nothing is kept for a backward pass.
    /// </summary>
    /// <returns>Every tick's hidden state [T, B, S] and the cell state after the last tick [B, S].</returns>
    /// <exception cref="ArgumentException">Shapes that do not fit each other, T or B of 0, or tensors that are not float32 on the CPU.</exception>
    public static (Tensor Hidden, Tensor LastCell) Run(Tensor inputs, Tensor hidden, Tensor cell, Tensor keeps, Tensor weightIh, Tensor weightHh, Tensor biasIh, Tensor biasHh)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(cell);
        ArgumentNullException.ThrowIfNull(keeps);
        ArgumentNullException.ThrowIfNull(weightIh);
        ArgumentNullException.ThrowIfNull(weightHh);
        ArgumentNullException.ThrowIfNull(biasIh);
        ArgumentNullException.ThrowIfNull(biasHh);
        if (inputs.dim() != 3 || weightHh.dim() != 2 || weightHh.shape[0] != 4 * weightHh.shape[1] || inputs.shape[0] < 1 || inputs.shape[1] < 1)
        {
            throw new ArgumentException($"inputs [{string.Join(", ", inputs.shape)}] must be [T ≥ 1, B ≥ 1, F] and weight_hh [{string.Join(", ", weightHh.shape)}] [4S, S]");
        }
        var (steps, batch, size) = (inputs.shape[0], inputs.shape[1], weightHh.shape[1]);
        if (!hidden.shape.SequenceEqual([batch, size]) || !cell.shape.SequenceEqual([batch, size]) || !keeps.shape.SequenceEqual([steps, batch]))
        {
            throw new ArgumentException($"state [{string.Join(", ", hidden.shape)}] / [{string.Join(", ", cell.shape)}] must be [{batch}, {size}] and keeps [{string.Join(", ", keeps.shape)}] [{steps}, {batch}]");
        }
        RequireCpuFloat(inputs);
        RequireCpuFloat(hidden);
        RequireCpuFloat(cell);
        RequireCpuFloat(keeps);
        RequireCpuFloat(weightIh);
        RequireCpuFloat(weightHh);
        RequireCpuFloat(biasIh);
        RequireCpuFloat(biasHh);
        // The input projection of every tick at once: one [T·B, F]×[F, 4S] GEMM instead of T small ones.
        var projected = nn.functional.linear(inputs, weightIh, biasIh).add(biasHh);
        if (is_grad_enabled() && (projected.requires_grad || hidden.requires_grad || cell.requires_grad || weightHh.requires_grad))
        {
            var outputs = LstmRecurrenceFunction.apply(projected, hidden, cell, keeps, weightHh);
            return (outputs[0], outputs[1]);
        }
        return LstmRecurrenceFunction.Forward(projected, hidden, cell, keeps, weightHh, trace: null);
    }

    private static void RequireCpuFloat(Tensor tensor)
    {
        if (tensor.dtype != ScalarType.Float32 || tensor.device_type != DeviceType.CPU)
        {
            throw new ArgumentException($"LstmSequence runs float32 CPU tensors; got {tensor.dtype} on {tensor.device_type}");
        }
    }
}

/// <summary>
/// The recurrence of <see cref="LstmSequence"/> as one custom autograd node: inputs the projected
/// gates [T, B, 4S], h₀ and c₀ [B, S], keeps [T, B] (no gradient) and W_hh [4S, S]; outputs every
/// tick's h [T, B, S] and the last c [B, S]. The forward keeps a trace [T, B, 7S] (activated gates,
/// c, tanh c, h per tick) for the backward, which walks the ticks in reverse (backpropagation through time).
/// </summary>
internal sealed class LstmRecurrenceFunction : autograd.MultiTensorFunction<LstmRecurrenceFunction>
{
    public override string Name => "LstmRecurrence";

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (projected, hidden, cell, keeps, weightHh) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3], (Tensor)vars[4]);
        var (steps, batch, size) = (projected.shape[0], projected.shape[1], hidden.shape[1]);
        var trace = empty(steps, batch, LstmRecurrenceKernel.TraceWidth * size);
        var (h, c) = Forward(projected, hidden, cell, keeps, weightHh, trace);
        ctx.save_for_backward([hidden.contiguous(), cell.contiguous(), keeps.contiguous(), weightHh.t().contiguous(), trace]);
        return [h, c];
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        var saved = ctx.get_saved_variables();
        var (hidden, cell, keeps, transposed, trace) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
        var (steps, batch, size) = (trace.shape[0], trace.shape[1], hidden.shape[1]);
        var gradHidden = grad_outputs[0].contiguous();
        var gradLastCell = grad_outputs[1].contiguous();
        var gradProjected = empty(steps, batch, 4 * size);
        var gradH0 = empty(batch, size);
        var gradC0 = empty(batch, size);
        var kept = empty(steps * batch, size);
        LstmRecurrenceKernel.Backward((int)steps, (int)batch, (int)size, Floats(gradHidden), Floats(gradLastCell), Floats(keeps), Floats(hidden), Floats(cell),
            Floats(transposed), Floats(trace), Floats(gradProjected), Floats(gradH0), Floats(gradC0), Floats(kept));
        // dL/dW_hh = Σ over ticks and rows of dz ⊗ (keep·h_prev): one [4S, T·B]×[T·B, S] GEMM.
        var gradWeight = gradProjected.view(steps * batch, 4 * size).t().mm(kept);
        return [gradProjected, gradH0, gradC0, null!, gradWeight];
    }

    /// <summary>The recurrence without autograd; fills <paramref name="trace"/> ([T, B, 7S]) when given.</summary>
    internal static (Tensor Hidden, Tensor LastCell) Forward(Tensor projected, Tensor hidden, Tensor cell, Tensor keeps, Tensor weightHh, Tensor? trace)
    {
        var (steps, batch, size) = (projected.shape[0], projected.shape[1], hidden.shape[1]);
        using var noGrad = no_grad();
        var h = empty(steps, batch, size);
        var c = cell.detach().contiguous().clone();
        using var transposed = weightHh.detach().t().contiguous();
        using var gates = projected.detach().contiguous();
        using var h0 = hidden.detach().contiguous();
        using var keep = keeps.detach().contiguous();
        LstmRecurrenceKernel.Forward((int)steps, (int)batch, (int)size, Floats(gates), Floats(h0), Floats(keep), Floats(transposed), Floats(h), Floats(c),
            trace is null ? [] : Floats(trace));
        return (h, c);
    }

    private static Span<float> Floats(Tensor contiguous) => MemoryMarshal.Cast<byte, float>(contiguous.bytes);
}

/// <summary>
/// The arithmetic of <see cref="LstmRecurrenceFunction"/> on flat row-major float spans. S is the
/// hidden size, G = 4S; gate rows are i, f, g, o (PyTorch's order). Nothing here allocates.
/// </summary>
internal static class LstmRecurrenceKernel
{
    /// <summary>
    /// Forward: for t in 0..T, b in 0..B: z = gates[t, b] + W_hh·(keep·h), i, f, o = σ, g = tanh,
    /// c = f·keep·c + i·g, h = o·tanh(c). <paramref name="cell"/> holds c₀ on entry and the last c on return.
    /// </summary>
    /// <param name="steps">T.</param>
    /// <param name="batch">B.</param>
    /// <param name="size">S.</param>
    /// <param name="gates">[T, B, G] projected inputs (x·W_ihᵀ + biases).</param>
    /// <param name="h0">[B, S] initial hidden state.</param>
    /// <param name="keeps">[T, B].</param>
    /// <param name="transposed">W_hhᵀ, [S, G].</param>
    /// <param name="hidden">[T, B, S] output: every tick's h.</param>
    /// <param name="cell">[B, S]: c₀ in, last c out.</param>
    /// <param name="trace">[T, B, 7S] output (activated gates, c, tanh c, h) or empty: not kept.</param>
    public static void Forward(int steps, int batch, int size, ReadOnlySpan<float> gates, ReadOnlySpan<float> h0, ReadOnlySpan<float> keeps, ReadOnlySpan<float> transposed,
        Span<float> hidden, Span<float> cell, Span<float> trace)
    {
        var g4 = 4 * size;
        var scratch = Scratch(g4 + 3 * size);
        var width = Vector<float>.Count;
        var whole = Vector.IsHardwareAccelerated ? size - size % width : 0;
        for (var t = 0; t < steps; t++)
        {
            for (var b = 0; b < batch; b++)
            {
                var keep = keeps[t * batch + b];
                var previous = t == 0 ? h0.Slice(b * size, size) : hidden.Slice(((t - 1) * batch + b) * size, size);
                // row: the activated gates i, f, g, o, then c, tanh c and h of this tick (the trace's layout).
                var row = trace.IsEmpty ? scratch.AsSpan(0, TraceWidth * size) : trace.Slice((t * batch + b) * TraceWidth * size, TraceWidth * size);
                var z = row[..g4];
                gates.Slice((t * batch + b) * g4, g4).CopyTo(z);
                for (var k = 0; k < size; k++)
                {
                    var hk = keep * previous[k];
                    if (hk != 0)
                    {
                        Axpy(hk, transposed.Slice(k * g4, g4), z);
                    }
                }
                var c = cell.Slice(b * size, size);
                var ci = z[..size];
                var cf = z.Slice(size, size);
                var cg = z.Slice(2 * size, size);
                var co = z.Slice(3 * size, size);
                var cc = row.Slice(g4, size);
                var ct = row.Slice(g4 + size, size);
                var ch = row.Slice(g4 + 2 * size, size);
                var vKeep = new Vector<float>(keep);
                for (var k = 0; k < whole; k += width)
                {
                    var i = Sigmoid(new Vector<float>(ci[k..]));
                    var f = Sigmoid(new Vector<float>(cf[k..]));
                    var g = Tanh(new Vector<float>(cg[k..]));
                    var o = Sigmoid(new Vector<float>(co[k..]));
                    var ck = f * (vKeep * new Vector<float>(c[k..])) + i * g;
                    var tc = Tanh(ck);
                    i.CopyTo(ci[k..]);
                    f.CopyTo(cf[k..]);
                    g.CopyTo(cg[k..]);
                    o.CopyTo(co[k..]);
                    ck.CopyTo(c[k..]);
                    ck.CopyTo(cc[k..]);
                    tc.CopyTo(ct[k..]);
                    (o * tc).CopyTo(ch[k..]);
                }
                for (var k = whole; k < size; k++)
                {
                    var i = Sigmoid(ci[k]);
                    var f = Sigmoid(cf[k]);
                    var g = Tanh(cg[k]);
                    var o = Sigmoid(co[k]);
                    var ck = f * (keep * c[k]) + i * g;
                    var tc = Tanh(ck);
                    (ci[k], cf[k], cg[k], co[k]) = (i, f, g, o);
                    (c[k], cc[k], ct[k], ch[k]) = (ck, ck, tc, o * tc);
                }
                ch.CopyTo(hidden.Slice((t * batch + b) * size, size));
            }
        }
    }

    /// <summary>Floats per (t, b) of the trace, in units of S: gates (4), c, tanh c, h.</summary>
    public const int TraceWidth = 7;

    /// <summary>
    /// Backward through time from <see cref="Forward"/>'s <paramref name="trace"/>: the gradients of
    /// the projected gates [T, B, G] (dz), h₀ and c₀, given the gradients of every tick's h and of the
    /// last c; and <paramref name="keptHidden"/> [T, B, S], the state each tick's W_hh multiplied
    /// (keep·h_prev), so that dL/dW_hh = dzᵀ·keptHidden is one GEMM for the caller.
    /// </summary>
    public static void Backward(int steps, int batch, int size, ReadOnlySpan<float> gradHidden, ReadOnlySpan<float> gradLastCell, ReadOnlySpan<float> keeps,
        ReadOnlySpan<float> h0, ReadOnlySpan<float> c0, ReadOnlySpan<float> transposed, ReadOnlySpan<float> trace,
        Span<float> gradGates, Span<float> gradH0, Span<float> gradC0, Span<float> keptHidden)
    {
        var g4 = 4 * size;
        var stride = TraceWidth * size;
        var width = Vector<float>.Count;
        var whole = Vector.IsHardwareAccelerated ? size - size % width : 0;
        // gradH0 and gradC0 carry dL/dh and dL/dc of the state entering the tick being processed.
        gradH0.Clear();
        gradLastCell.CopyTo(gradC0);
        var one = Vector<float>.One;
        for (var t = steps - 1; t >= 0; t--)
        {
            for (var b = 0; b < batch; b++)
            {
                var keep = keeps[t * batch + b];
                var row = trace.Slice((t * batch + b) * stride, stride);
                var previousRow = t == 0 ? default : trace.Slice(((t - 1) * batch + b) * stride, stride);
                var hPrevious = t == 0 ? h0.Slice(b * size, size) : previousRow.Slice(g4 + 2 * size, size);
                var cPrevious = t == 0 ? c0.Slice(b * size, size) : previousRow.Slice(g4, size);
                var dh = gradH0.Slice(b * size, size);
                var dc = gradC0.Slice(b * size, size);
                var gradH = gradHidden.Slice((t * batch + b) * size, size);
                var dz = gradGates.Slice((t * batch + b) * g4, g4);
                var ri = row[..size];
                var rf = row.Slice(size, size);
                var rg = row.Slice(2 * size, size);
                var ro = row.Slice(3 * size, size);
                var rt = row.Slice(g4 + size, size);
                var di = dz[..size];
                var df = dz.Slice(size, size);
                var dg = dz.Slice(2 * size, size);
                var dO = dz.Slice(3 * size, size);
                var vKeep = new Vector<float>(keep);
                for (var k = 0; k < whole; k += width)
                {
                    var (i, f, g, o, tc) = (new Vector<float>(ri[k..]), new Vector<float>(rf[k..]), new Vector<float>(rg[k..]), new Vector<float>(ro[k..]), new Vector<float>(rt[k..]));
                    var dhk = new Vector<float>(gradH[k..]) + new Vector<float>(dh[k..]);
                    var dck = new Vector<float>(dc[k..]) + dhk * o * (one - tc * tc);
                    (dck * g * i * (one - i)).CopyTo(di[k..]);
                    (dck * (vKeep * new Vector<float>(cPrevious[k..])) * f * (one - f)).CopyTo(df[k..]);
                    (dck * i * (one - g * g)).CopyTo(dg[k..]);
                    (dhk * tc * o * (one - o)).CopyTo(dO[k..]);
                    (vKeep * dck * f).CopyTo(dc[k..]);
                }
                for (var k = whole; k < size; k++)
                {
                    var (i, f, g, o, tc) = (ri[k], rf[k], rg[k], ro[k], rt[k]);
                    var dhk = gradH[k] + dh[k];
                    var dck = dc[k] + dhk * o * (1 - tc * tc);
                    di[k] = dck * g * i * (1 - i);
                    df[k] = dck * (keep * cPrevious[k]) * f * (1 - f);
                    dg[k] = dck * i * (1 - g * g);
                    dO[k] = dhk * tc * o * (1 - o);
                    dc[k] = keep * dck * f;
                }
                var kept = keptHidden.Slice((t * batch + b) * size, size);
                for (var k = 0; k < size; k++)
                {
                    kept[k] = keep * hPrevious[k];
                    dh[k] = keep * Dot(transposed.Slice(k * g4, g4), dz);
                }
            }
        }
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    // tanh x = 1 − 2 / (e^{2x} + 1): exact at ±∞ (e^{2x} overflowing to ∞ gives 1), absolute error ~1e-7 near 0.
    private static float Tanh(float x) => 1f - 2f / (MathF.Exp(2f * x) + 1f);

    private static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Vector.Exp(-x));

    private static Vector<float> Tanh(Vector<float> x) => Vector<float>.One - new Vector<float>(2f) / (Vector.Exp(x + x) + Vector<float>.One);

    /// <summary>y += a·x.</summary>
    private static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
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

    /// <summary>Σ x·y, in a fixed order.</summary>
    private static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var n = x.Length;
        var k = 0;
        var sum = 0f;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            var xs = MemoryMarshal.Cast<float, Vector<float>>(x);
            var ys = MemoryMarshal.Cast<float, Vector<float>>(y);
            for (var v = 0; v < xs.Length; v++)
            {
                acc = Vector.FusedMultiplyAdd(xs[v], ys[v], acc);
            }
            sum = Vector.Sum(acc);
            k = xs.Length * Vector<float>.Count;
        }
        for (; k < n; k++)
        {
            sum = MathF.FusedMultiplyAdd(x[k], y[k], sum);
        }
        return sum;
    }

    [ThreadStatic]
    private static float[]? _scratch;

    /// <summary>A per-thread buffer of at least <paramref name="length"/> floats, reused across calls.</summary>
    private static float[] Scratch(int length)
    {
        if (_scratch is null || _scratch.Length < length)
        {
            _scratch = new float[length];
        }
        return _scratch;
    }
}
