using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static Telos.Learning.Native.TensorMemory;
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
        using var transposed = weightHh.detach().t().contiguous();
        return LstmRecurrenceFunction.Forward(projected, hidden, cell, keeps, transposed, trace: null);
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
        var transposed = weightHh.detach().t().contiguous();
        var (h0, c0, keep) = (Dense(hidden), Dense(cell), Dense(keeps));
        var (h, c) = Forward(projected, h0, c0, keep, transposed, trace);
        ctx.save_for_backward([h0, c0, keep, transposed, trace]);
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

    /// <summary>The recurrence without autograd, given W_hhᵀ [S, 4S] (contiguous); fills <paramref name="trace"/> ([T, B, 7S]) when given.</summary>
    internal static (Tensor Hidden, Tensor LastCell) Forward(Tensor projected, Tensor hidden, Tensor cell, Tensor keeps, Tensor transposed, Tensor? trace)
    {
        var (steps, batch, size) = (projected.shape[0], projected.shape[1], hidden.shape[1]);
        var h = empty(steps, batch, size);
        var c = empty(batch, size);
        Floats(Dense(cell)).CopyTo(Floats(c));
        LstmRecurrenceKernel.Forward((int)steps, (int)batch, (int)size, Floats(Dense(projected)), Floats(Dense(hidden)), Floats(Dense(keeps)), Floats(transposed), Floats(h), Floats(c),
            trace is null ? [] : Floats(trace));
        return (h, c);
    }

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
        var stride = TraceWidth * size;
        // Without a trace, one tick's rows live in the scratch; then the kept states [B, S].
        var scratch = Scratch(trace.IsEmpty ? batch * (stride + size) : batch * size).AsSpan();
        var kept = scratch.Slice(trace.IsEmpty ? batch * stride : 0, batch * size);
        var width = Vector<float>.Count;
        var whole = Vector.IsHardwareAccelerated ? size - size % width : 0;
        for (var t = 0; t < steps; t++)
        {
            // rows[b]: the activated gates i, f, g, o, then c, tanh c and h of this tick (the trace's layout).
            var rows = trace.IsEmpty ? scratch[..(batch * stride)] : trace.Slice(t * batch * stride, batch * stride);
            for (var b = 0; b < batch; b++)
            {
                var keep = keeps[t * batch + b];
                var previous = t == 0 ? h0.Slice(b * size, size) : hidden.Slice(((t - 1) * batch + b) * size, size);
                var keptRow = kept.Slice(b * size, size);
                for (var k = 0; k < size; k++)
                {
                    keptRow[k] = keep * previous[k];
                }
                gates.Slice((t * batch + b) * g4, g4).CopyTo(rows.Slice(b * stride, g4));
            }
            // z += (keep·h)·W_hhᵀ for every row of the tick at once.
            AccumulateProduct(batch, size, g4, kept, transposed, rows, stride);
            for (var b = 0; b < batch; b++)
            {
                var keep = keeps[t * batch + b];
                var row = rows.Slice(b * stride, stride);
                var z = row[..g4];
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
                }
            }
            // dL/dh of the state entering tick t, keep·(W_hh·dz), for every row at once.
            ScaledProducts(batch, size, g4, transposed, gradGates.Slice(t * batch * g4, batch * g4), keeps.Slice(t * batch, batch), gradH0);
        }
    }

    private static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));

    // tanh x = 1 − 2 / (e^{2x} + 1): exact at ±∞ (e^{2x} overflowing to ∞ gives 1), absolute error ~1e-7 near 0.
    private static float Tanh(float x) => 1f - 2f / (MathF.Exp(2f * x) + 1f);

    private static Vector<float> Sigmoid(Vector<float> x) => Vector<float>.One / (Vector<float>.One + Vector.Exp(-x));

    private static Vector<float> Tanh(Vector<float> x) => Vector<float>.One - new Vector<float>(2f) / (Vector.Exp(x + x) + Vector<float>.One);

    /// <summary>
    /// output[r, :width] += left[r, :]·right for r in 0..rows: left [rows, depth], right [depth, width],
    /// output rows <paramref name="outputStride"/> apart. Each output element is one chain of fused
    /// multiply-adds over depth in order (so the same bits as one axpy per left element); four rows
    /// and two vectors of columns stay in registers, so that each right row loaded serves eight.
    /// </summary>
    private static void AccumulateProduct(int rows, int depth, int width, ReadOnlySpan<float> left, ReadOnlySpan<float> right, Span<float> output, int outputStride)
    {
        var n = Vector<float>.Count;
        var whole = Vector.IsHardwareAccelerated ? width - width % n : 0;
        ref var l = ref MemoryMarshal.GetReference(left);
        ref var r = ref MemoryMarshal.GetReference(right);
        ref var o = ref MemoryMarshal.GetReference(output);
        var b = 0;
        for (; b + 4 <= rows; b += 4)
        {
            ref var o0 = ref Unsafe.Add(ref o, b * outputStride);
            ref var o1 = ref Unsafe.Add(ref o0, outputStride);
            ref var o2 = ref Unsafe.Add(ref o1, outputStride);
            ref var o3 = ref Unsafe.Add(ref o2, outputStride);
            ref var l0 = ref Unsafe.Add(ref l, b * depth);
            ref var l1 = ref Unsafe.Add(ref l0, depth);
            ref var l2 = ref Unsafe.Add(ref l1, depth);
            ref var l3 = ref Unsafe.Add(ref l2, depth);
            var j = 0;
            for (; j + 2 * n <= whole; j += 2 * n)
            {
                var (a00, a01, a10, a11) = (Load(ref o0, j), Load(ref o0, j + n), Load(ref o1, j), Load(ref o1, j + n));
                var (a20, a21, a30, a31) = (Load(ref o2, j), Load(ref o2, j + n), Load(ref o3, j), Load(ref o3, j + n));
                for (var k = 0; k < depth; k++)
                {
                    ref var w = ref Unsafe.Add(ref r, k * width + j);
                    var (w0, w1) = (Load(ref w, 0), Load(ref w, n));
                    var h = new Vector<float>(Unsafe.Add(ref l0, k));
                    (a00, a01) = (Vector.FusedMultiplyAdd(h, w0, a00), Vector.FusedMultiplyAdd(h, w1, a01));
                    h = new Vector<float>(Unsafe.Add(ref l1, k));
                    (a10, a11) = (Vector.FusedMultiplyAdd(h, w0, a10), Vector.FusedMultiplyAdd(h, w1, a11));
                    h = new Vector<float>(Unsafe.Add(ref l2, k));
                    (a20, a21) = (Vector.FusedMultiplyAdd(h, w0, a20), Vector.FusedMultiplyAdd(h, w1, a21));
                    h = new Vector<float>(Unsafe.Add(ref l3, k));
                    (a30, a31) = (Vector.FusedMultiplyAdd(h, w0, a30), Vector.FusedMultiplyAdd(h, w1, a31));
                }
                Store(a00, ref o0, j);
                Store(a01, ref o0, j + n);
                Store(a10, ref o1, j);
                Store(a11, ref o1, j + n);
                Store(a20, ref o2, j);
                Store(a21, ref o2, j + n);
                Store(a30, ref o3, j);
                Store(a31, ref o3, j + n);
            }
            if (j < whole)
            {
                var (a0, a1, a2, a3) = (Load(ref o0, j), Load(ref o1, j), Load(ref o2, j), Load(ref o3, j));
                for (var k = 0; k < depth; k++)
                {
                    var w = Load(ref r, k * width + j);
                    a0 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref l0, k)), w, a0);
                    a1 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref l1, k)), w, a1);
                    a2 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref l2, k)), w, a2);
                    a3 = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref l3, k)), w, a3);
                }
                Store(a0, ref o0, j);
                Store(a1, ref o1, j);
                Store(a2, ref o2, j);
                Store(a3, ref o3, j);
            }
        }
        for (; b < rows; b++)
        {
            ref var ob = ref Unsafe.Add(ref o, b * outputStride);
            ref var lb = ref Unsafe.Add(ref l, b * depth);
            for (var j = 0; j < whole; j += n)
            {
                var a = Load(ref ob, j);
                for (var k = 0; k < depth; k++)
                {
                    a = Vector.FusedMultiplyAdd(new Vector<float>(Unsafe.Add(ref lb, k)), Load(ref r, k * width + j), a);
                }
                Store(a, ref ob, j);
            }
        }
        for (b = 0; b < rows; b++)
        {
            ref var ob = ref Unsafe.Add(ref o, b * outputStride);
            ref var lb = ref Unsafe.Add(ref l, b * depth);
            for (var j = whole; j < width; j++)
            {
                ref var a = ref Unsafe.Add(ref ob, j);
                for (var k = 0; k < depth; k++)
                {
                    a = MathF.FusedMultiplyAdd(Unsafe.Add(ref lb, k), Unsafe.Add(ref r, k * width + j), a);
                }
            }
        }
    }

    /// <summary>
    /// output[r, k] = scales[r]·Σ_j matrix[k, j]·vectors[r, j] for r in 0..rows, k in 0..depth:
    /// matrix [depth, width], vectors [rows, width], output [rows, depth]. Each sum is one vector
    /// accumulator over the columns in order, then its lanes, then the remaining columns (the same
    /// bits as one dot product per element); four rows and two matrix rows stay in registers.
    /// </summary>
    private static void ScaledProducts(int rows, int depth, int width, ReadOnlySpan<float> matrix, ReadOnlySpan<float> vectors, ReadOnlySpan<float> scales, Span<float> output)
    {
        var n = Vector<float>.Count;
        var whole = Vector.IsHardwareAccelerated && width >= n ? width - width % n : 0;
        ref var m = ref MemoryMarshal.GetReference(matrix);
        ref var v = ref MemoryMarshal.GetReference(vectors);
        var b = 0;
        for (; b + 4 <= rows; b += 4)
        {
            ref var v0 = ref Unsafe.Add(ref v, b * width);
            ref var v1 = ref Unsafe.Add(ref v0, width);
            ref var v2 = ref Unsafe.Add(ref v1, width);
            ref var v3 = ref Unsafe.Add(ref v2, width);
            var k = 0;
            for (; k + 2 <= depth; k += 2)
            {
                ref var m0 = ref Unsafe.Add(ref m, k * width);
                ref var m1 = ref Unsafe.Add(ref m0, width);
                var (a00, a01, a10, a11) = (Vector<float>.Zero, Vector<float>.Zero, Vector<float>.Zero, Vector<float>.Zero);
                var (a20, a21, a30, a31) = (Vector<float>.Zero, Vector<float>.Zero, Vector<float>.Zero, Vector<float>.Zero);
                for (var j = 0; j < whole; j += n)
                {
                    var (x0, x1) = (Load(ref m0, j), Load(ref m1, j));
                    var y = Load(ref v0, j);
                    (a00, a01) = (Vector.FusedMultiplyAdd(x0, y, a00), Vector.FusedMultiplyAdd(x1, y, a01));
                    y = Load(ref v1, j);
                    (a10, a11) = (Vector.FusedMultiplyAdd(x0, y, a10), Vector.FusedMultiplyAdd(x1, y, a11));
                    y = Load(ref v2, j);
                    (a20, a21) = (Vector.FusedMultiplyAdd(x0, y, a20), Vector.FusedMultiplyAdd(x1, y, a21));
                    y = Load(ref v3, j);
                    (a30, a31) = (Vector.FusedMultiplyAdd(x0, y, a30), Vector.FusedMultiplyAdd(x1, y, a31));
                }
                output[b * depth + k] = scales[b] * Finish(a00, ref m0, ref v0, whole, width);
                output[b * depth + k + 1] = scales[b] * Finish(a01, ref m1, ref v0, whole, width);
                output[(b + 1) * depth + k] = scales[b + 1] * Finish(a10, ref m0, ref v1, whole, width);
                output[(b + 1) * depth + k + 1] = scales[b + 1] * Finish(a11, ref m1, ref v1, whole, width);
                output[(b + 2) * depth + k] = scales[b + 2] * Finish(a20, ref m0, ref v2, whole, width);
                output[(b + 2) * depth + k + 1] = scales[b + 2] * Finish(a21, ref m1, ref v2, whole, width);
                output[(b + 3) * depth + k] = scales[b + 3] * Finish(a30, ref m0, ref v3, whole, width);
                output[(b + 3) * depth + k + 1] = scales[b + 3] * Finish(a31, ref m1, ref v3, whole, width);
            }
            for (; k < depth; k++)
            {
                for (var i = 0; i < 4; i++)
                {
                    output[(b + i) * depth + k] = scales[b + i] * Dot(matrix.Slice(k * width, width), vectors.Slice((b + i) * width, width));
                }
            }
        }
        for (; b < rows; b++)
        {
            for (var k = 0; k < depth; k++)
            {
                output[b * depth + k] = scales[b] * Dot(matrix.Slice(k * width, width), vectors.Slice(b * width, width));
            }
        }
    }

    /// <summary>The lanes of <paramref name="accumulator"/> summed, then x[j]·y[j] for j from <paramref name="from"/> to <paramref name="width"/>: the end of <see cref="Dot"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish(Vector<float> accumulator, ref float x, ref float y, int from, int width)
    {
        var sum = from > 0 ? Vector.Sum(accumulator) : 0f;
        for (var j = from; j < width; j++)
        {
            sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, j), Unsafe.Add(ref y, j), sum);
        }
        return sum;
    }

    /// <summary>Σ x·y, in a fixed order: one vector accumulator over whole vectors, its lanes, then the rest.</summary>
    private static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var n = Vector<float>.Count;
        var whole = Vector.IsHardwareAccelerated && x.Length >= n ? x.Length - x.Length % n : 0;
        ref var xr = ref MemoryMarshal.GetReference(x);
        ref var yr = ref MemoryMarshal.GetReference(y);
        var acc = Vector<float>.Zero;
        for (var j = 0; j < whole; j += n)
        {
            acc = Vector.FusedMultiplyAdd(Load(ref xr, j), Load(ref yr, j), acc);
        }
        return Finish(acc, ref xr, ref yr, whole, x.Length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(ref float source, int offset) => Unsafe.ReadUnaligned<Vector<float>>(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref source, offset)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(Vector<float> value, ref float target, int offset) => Unsafe.WriteUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref target, offset)), value);

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
