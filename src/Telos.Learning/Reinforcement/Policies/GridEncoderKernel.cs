using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static Telos.Learning.Native.TensorMemory;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement.Policies;

/// <summary>How a <see cref="GridEncoder"/> runs its convolutions and linear layer.</summary>
public enum EncoderKernel
{
    /// <summary>
    /// LibTorch's <c>Conv2d</c>, <c>relu</c> and <c>Linear</c> under LibTorch's autograd (oneDNN's
    /// convolutions, which reorder their tensors on every call); the kernel every run before the
    /// fused one existed trained with.
    /// </summary>
    LibTorch,

    /// <summary>
    /// The whole encoder as one autograd node (<see cref="FusedGridEncoder"/>): the first convolution
    /// as a sum over the input's nonzero cells, the second as a direct register-blocked convolution,
    /// both in managed code; the linear layer as one GEMM; the ReLUs and layout changes in managed code.
    /// The same function as <see cref="LibTorch"/> to float rounding (tested to 1e-5), not bit-identical.
    /// </summary>
    Fused,
}

/// <summary>
/// <see cref="GridEncoder"/>'s forward (3×3 convolution, padding 1, ReLU; 3×3 convolution, padding
/// 1, ReLU; unless spatial, flatten, linear, ReLU) as one custom autograd node, for the small grids
/// PPO's policies see, where LibTorch's per-op cost and oneDNN's per-call reorders outweigh the
/// arithmetic. The observations are one-hot grids, so the first convolution visits only their
/// nonzero cells; activations are kept pixel-major ([N, H·W, C]) inside the node, so that the second
/// convolution, its input gradient (the same loop over a flipped kernel) and its weight gradient
/// read whole vectors of channels, with no im2col matrix; the weights are permuted to match. The
/// linear layer's GEMMs are LibTorch's <c>mm</c>; everything else is loops here in a fixed order
/// (same inputs → same bits on one machine). No gradient flows to the observations.
/// </summary>
public static class FusedGridEncoder
{
    /// <summary>
    /// Encodes <paramref name="input"/> [N, C, H, W] with the given layers' weights: conv1
    /// [C1, C, 3, 3] and bias [C1], conv2 [C2, C1, 3, 3] and bias [C2], and, unless both are null,
    /// linear [F, C2·H·W] and bias [F]. Differentiable with respect to every weight when autograd is
    /// on and one of them requires grad; otherwise no graph is built.
    /// </summary>
    /// <returns>[N, F], or [N, C2, H, W] without the linear layer.</returns>
    /// <exception cref="ArgumentException">Shapes that do not fit each other, kernels other than 3×3, or tensors that are not float32 on the CPU.</exception>
    public static Tensor Run(Tensor input, Tensor conv1Weight, Tensor conv1Bias, Tensor conv2Weight, Tensor conv2Bias, Tensor? linearWeight, Tensor? linearBias)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(conv1Weight);
        ArgumentNullException.ThrowIfNull(conv1Bias);
        ArgumentNullException.ThrowIfNull(conv2Weight);
        ArgumentNullException.ThrowIfNull(conv2Bias);
        if ((linearWeight is null) != (linearBias is null))
        {
            throw new ArgumentException("the linear layer needs both its weight and its bias, or neither");
        }
        if (input.dim() != 4 || conv1Weight.dim() != 4 || conv2Weight.dim() != 4
            || conv1Weight.shape[2] != 3 || conv1Weight.shape[3] != 3 || conv2Weight.shape[2] != 3 || conv2Weight.shape[3] != 3
            || conv1Weight.shape[1] != input.shape[1] || conv2Weight.shape[1] != conv1Weight.shape[0]
            || conv1Bias.numel() != conv1Weight.shape[0] || conv2Bias.numel() != conv2Weight.shape[0])
        {
            throw new ArgumentException($"input [{string.Join(", ", input.shape)}], conv1 [{string.Join(", ", conv1Weight.shape)}] and conv2 [{string.Join(", ", conv2Weight.shape)}] must be [N, C, H, W], [C1, C, 3, 3] and [C2, C1, 3, 3] with matching biases");
        }
        var pixels = input.shape[2] * input.shape[3];
        if (linearWeight is not null && (linearWeight.dim() != 2 || linearWeight.shape[1] != conv2Weight.shape[0] * pixels || linearBias!.numel() != linearWeight.shape[0]))
        {
            throw new ArgumentException($"linear [{string.Join(", ", linearWeight.shape)}] must be [F, {conv2Weight.shape[0] * pixels}] with a bias of F");
        }
        RequireCpuFloat(input);
        RequireCpuFloat(conv1Weight);
        RequireCpuFloat(conv1Bias);
        RequireCpuFloat(conv2Weight);
        RequireCpuFloat(conv2Bias);
        RequireCpuFloat(linearWeight);
        RequireCpuFloat(linearBias);
        Tensor[] weights = linearWeight is null
            ? [conv1Weight, conv1Bias, conv2Weight, conv2Bias]
            : [conv1Weight, conv1Bias, conv2Weight, conv2Bias, linearWeight, linearBias!];
        if (is_grad_enabled() && weights.Any(w => w.requires_grad))
        {
            return GridEncoderFunction.apply([input, .. weights])[0];
        }
        using var noGrad = no_grad();
        return GridEncoderFunction.Forward(input, weights, saved: null);
    }

    private static void RequireCpuFloat(Tensor? tensor)
    {
        if (tensor is not null && (tensor.dtype != ScalarType.Float32 || tensor.device_type != DeviceType.CPU))
        {
            throw new ArgumentException($"FusedGridEncoder runs float32 CPU tensors; got {tensor.dtype} on {tensor.device_type}");
        }
    }
}

/// <summary>
/// The node of <see cref="FusedGridEncoder"/>: inputs the observations (no gradient) and the
/// layers' weights (4, or 6 with the linear layer); output the encoding.
/// </summary>
internal sealed class GridEncoderFunction : autograd.MultiTensorFunction<GridEncoderFunction>
{
    public override string Name => "GridEncoder";

    public override List<Tensor> forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var input = (Tensor)vars[0];
        var weights = vars.Skip(1).Cast<Tensor>().ToArray();
        var saved = new List<Tensor>();
        using var noGrad = no_grad();
        var output = Forward(input, weights, saved);
        ctx.save_for_backward(saved);
        return [output];
    }

    /// <summary>
    /// The forward without autograd. With <paramref name="saved"/>, appends what the backward reads:
    /// the observations, a1 [N, P, C1], a2 [N, P, C2], conv2's kernel packed for the input gradient
    /// [9, C2, C1], and with the linear layer its permuted weight [F, P·C2] and its output.
    /// </summary>
    internal static Tensor Forward(Tensor input, Tensor[] weights, List<Tensor>? saved)
    {
        var x = Dense(input);
        var (n, channels, height, width) = ((int)x.shape[0], (int)x.shape[1], (int)x.shape[2], (int)x.shape[3]);
        var pixels = height * width;
        var (c1, c2) = ((int)weights[0].shape[0], (int)weights[2].shape[0]);
        // conv1ᵀ [(c, k), C1] and conv2 packed [9, C1, C2]: the layouts the loops read.
        var w1 = empty(channels * 9, c1);
        GridEncoderArithmetic.SwapLastAxes(1, c1, channels * 9, Floats(Dense(weights[0])), Floats(w1));
        var conv2 = Dense(weights[2]);
        var w2 = empty(9, c1, c2);
        GridEncoderArithmetic.PackKernel(c2, c1, transpose: false, Floats(conv2), Floats(w2));
        var a1 = empty(n, pixels, c1);
        GridEncoderArithmetic.SparseConvolution(n, channels, height, width, c1, Floats(x), Floats(w1), Floats(Dense(weights[1])), Floats(a1));
        var a2 = empty((long)n * pixels, c2);
        GridEncoderArithmetic.Convolve(n, height, width, c1, c2, Floats(a1), Floats(w2), Floats(Dense(weights[3])), relu: true, Floats(a2));
        if (saved is not null)
        {
            var transposed = empty(9, c2, c1);
            GridEncoderArithmetic.PackKernel(c2, c1, transpose: true, Floats(conv2), Floats(transposed));
            saved.AddRange([x, a1, a2, transposed]);
        }
        if (weights.Length == 4)
        {
            var grid = empty(n, c2, height, width);
            GridEncoderArithmetic.SwapLastAxes(n, pixels, c2, Floats(a2), Floats(grid));
            return grid;
        }
        var features = (int)weights[4].shape[0];
        // The linear layer's columns (c2, p) reordered to a2's (p, c2).
        var w3 = empty(features, pixels * c2);
        GridEncoderArithmetic.SwapLastAxes(features, c2, pixels, Floats(Dense(weights[4])), Floats(w3));
        var a3 = a2.view(n, pixels * c2).mm(w3.t());
        GridEncoderArithmetic.BiasRelu(features, Floats(Dense(weights[5])), Floats(a3));
        saved?.AddRange([w3, a3]);
        return a3;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        var saved = ctx.get_saved_variables();
        var (x, a1, a2, transposed) = (saved[0], saved[1], saved[2], saved[3]);
        var (n, channels, height, width) = ((int)x.shape[0], (int)x.shape[1], (int)x.shape[2], (int)x.shape[3]);
        var pixels = height * width;
        var (c1, c2) = ((int)a1.shape[2], (int)a2.shape[1]);
        var flat = saved.Count == 6;
        Tensor gradA2;                 // dL/da2, then dL/dz2, [N·P, C2]
        Tensor? gradW3 = null, gradB3 = null;
        if (flat)
        {
            var (w3, a3) = (saved[4], saved[5]);
            var features = (int)w3.shape[0];
            var gradZ3 = grad_outputs[0].contiguous().clone();
            GridEncoderArithmetic.ReluGrad(Floats(a3), Floats(gradZ3));
            gradB3 = gradZ3.sum(dim: 0);
            var pixelMajor = gradZ3.t().mm(a2.view(n, pixels * c2));
            gradW3 = empty(features, c2 * pixels);
            GridEncoderArithmetic.SwapLastAxes(features, pixels, c2, Floats(pixelMajor), Floats(gradW3));
            gradA2 = gradZ3.mm(w3).view((long)n * pixels, c2);
        }
        else
        {
            gradA2 = empty((long)n * pixels, c2);
            GridEncoderArithmetic.SwapLastAxes(n, c2, pixels, Floats(Dense(grad_outputs[0])), Floats(gradA2));
        }
        GridEncoderArithmetic.ReluGrad(Floats(a2), Floats(gradA2));
        var gradB2 = gradA2.sum(dim: 0);
        var packedGrad = empty(9, c1, c2);
        GridEncoderArithmetic.ConvolveWeightGrad(n, height, width, c1, c2, Floats(a1), Floats(gradA2), Floats(packedGrad));
        var gradW2 = empty(c2, c1, 3, 3);
        GridEncoderArithmetic.UnpackKernel(c2, c1, Floats(packedGrad), Floats(gradW2));
        var gradA1 = empty(n, pixels, c1);
        GridEncoderArithmetic.Convolve(n, height, width, c2, c1, Floats(gradA2), Floats(transposed), [], relu: false, Floats(gradA1));
        GridEncoderArithmetic.ReluGrad(Floats(a1), Floats(gradA1));
        var gradW1 = zeros(channels * 9, c1);
        var gradB1 = zeros(c1);
        GridEncoderArithmetic.SparseConvolutionGrad(n, channels, height, width, c1, Floats(x), Floats(gradA1), Floats(gradW1), Floats(gradB1));
        var gradConv1 = empty(c1, channels, 3, 3);
        GridEncoderArithmetic.SwapLastAxes(1, channels * 9, c1, Floats(gradW1), Floats(gradConv1));
        List<Tensor> grads = [null!, gradConv1, gradB1, gradW2, gradB2];
        if (flat)
        {
            grads.AddRange([gradW3!, gradB3!]);
        }
        return grads;
    }

}

/// <summary>
/// The arithmetic of <see cref="GridEncoderFunction"/> on flat row-major float spans; activations
/// are pixel-major, [N, P, C] with P = H·W; a 3×3 kernel position is k = 3·ky + kx, and output
/// pixel (y, x) reads input pixel (y + ky − 1, x + kx − 1) (padding 1, PyTorch's cross-correlation).
/// The rows these loops touch are a few channels long (8 or 16 in PPO's policies), so the vector
/// helpers are inlined rather than called. Nothing here allocates on the heap.
/// </summary>
internal static class GridEncoderArithmetic
{
    /// <summary>Grids up to this many cells keep their neighbour table on the stack.</summary>
    private const int StackCells = 1024;

    /// <summary>
    /// out[n, p, :] = relu(bias + Σ over nonzero input[n, c, q] of input·weight[(c, k), :]), where q
    /// is output p's neighbour at k: the first convolution, visiting only the input's nonzero cells.
    /// </summary>
    /// <param name="n">N.</param>
    /// <param name="channels">C, the input's channels.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="outChannels">C1.</param>
    /// <param name="input">[N, C, H, W].</param>
    /// <param name="weight">[C·9, C1]: conv1's weight transposed.</param>
    /// <param name="bias">[C1].</param>
    /// <param name="output">[N, P, C1].</param>
    public static void SparseConvolution(int n, int channels, int height, int width, int outChannels, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, Span<float> output)
    {
        var pixels = height * width;
        Span<int> neighbours = pixels <= StackCells ? stackalloc int[9 * pixels] : new int[9 * pixels];
        Neighbours(height, width, neighbours);
        ref var w = ref MemoryMarshal.GetReference(weight);
        ref var o = ref MemoryMarshal.GetReference(output);
        for (var row = 0; row < n * pixels; row++)
        {
            bias.CopyTo(output.Slice(row * outChannels, outChannels));
        }
        for (var b = 0; b < n; b++)
        {
            for (var c = 0; c < channels; c++)
            {
                var plane = input.Slice((b * channels + c) * pixels, pixels);
                for (var q = 0; q < pixels; q++)
                {
                    var value = plane[q];
                    if (value == 0)
                    {
                        continue;
                    }
                    // The convolution is symmetric in its offsets: the outputs that read q at k are q's neighbours at 8 − k.
                    for (var k = 0; k < 9; k++)
                    {
                        var p = neighbours[q * 9 + 8 - k];
                        if (p >= 0)
                        {
                            Axpy(value, ref Unsafe.Add(ref w, (c * 9 + k) * outChannels), ref Unsafe.Add(ref o, (b * pixels + p) * outChannels), outChannels);
                        }
                    }
                }
            }
        }
        Relu(output);
    }

    /// <summary>
    /// The weight and bias gradients of <see cref="SparseConvolution"/> given dL/dz [N, P, C1]
    /// (after the ReLU's mask): gradWeight[(c, k), :] += input[n, c, q]·gradOutput[n, p, :],
    /// gradBias += Σ gradOutput[n, p, :]. Both must be zeroed by the caller.
    /// </summary>
    public static void SparseConvolutionGrad(int n, int channels, int height, int width, int outChannels, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput,
        Span<float> gradWeight, Span<float> gradBias)
    {
        var pixels = height * width;
        Span<int> neighbours = pixels <= StackCells ? stackalloc int[9 * pixels] : new int[9 * pixels];
        Neighbours(height, width, neighbours);
        ref var g = ref MemoryMarshal.GetReference(gradOutput);
        ref var dw = ref MemoryMarshal.GetReference(gradWeight);
        ref var db = ref MemoryMarshal.GetReference(gradBias);
        for (var row = 0; row < n * pixels; row++)
        {
            Axpy(1f, ref Unsafe.Add(ref g, row * outChannels), ref db, outChannels);
        }
        for (var b = 0; b < n; b++)
        {
            for (var c = 0; c < channels; c++)
            {
                var plane = input.Slice((b * channels + c) * pixels, pixels);
                for (var q = 0; q < pixels; q++)
                {
                    var value = plane[q];
                    if (value == 0)
                    {
                        continue;
                    }
                    for (var k = 0; k < 9; k++)
                    {
                        var p = neighbours[q * 9 + 8 - k];
                        if (p >= 0)
                        {
                            Axpy(value, ref Unsafe.Add(ref g, (b * pixels + p) * outChannels), ref Unsafe.Add(ref dw, (c * 9 + k) * outChannels), outChannels);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// output[n, p, :] = bias + Σ_k Σ_c input[n, q, c]·weight[k, c, :] over p's neighbours q at k
    /// inside the grid, then ReLU when <paramref name="relu"/>: a 3×3 convolution with padding 1 on
    /// pixel-major activations, without an im2col matrix. Eight grids at the same pixel share one
    /// neighbour pattern, so taps outside the grid are skipped for all eight, and their sums and one
    /// vector of output channels stay in registers. Every sum runs over k, then c, in order, so a
    /// grid gets the same bits whether it is computed in a block of eight or alone.
    /// </summary>
    /// <param name="n">N.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="inChannels">Cin.</param>
    /// <param name="outChannels">Cout.</param>
    /// <param name="input">[N, P, Cin].</param>
    /// <param name="weight">[9, Cin, Cout] (<see cref="PackKernel"/>).</param>
    /// <param name="bias">[Cout], or empty for none.</param>
    /// <param name="relu">Whether to apply max(·, 0).</param>
    /// <param name="output">[N, P, Cout], overwritten.</param>
    public static void Convolve(int n, int height, int width, int inChannels, int outChannels, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, bool relu, Span<float> output)
    {
        var pixels = height * width;
        Span<int> neighbours = pixels <= StackCells ? stackalloc int[9 * pixels] : new int[9 * pixels];
        Neighbours(height, width, neighbours);
        ref var a = ref MemoryMarshal.GetReference(input);
        ref var w = ref MemoryMarshal.GetReference(weight);
        ref var o = ref MemoryMarshal.GetReference(output);
        var whole = Vector256.IsHardwareAccelerated ? outChannels - outChannels % 8 : 0;
        var (inGrid, outGrid) = (pixels * inChannels, pixels * outChannels);
        var b = 0;
        for (; b + 8 <= n; b += 8)
        {
            ref var ab = ref Unsafe.Add(ref a, b * inGrid);
            ref var ob = ref Unsafe.Add(ref o, b * outGrid);
            for (var p = 0; p < pixels; p++)
            {
                for (var j = 0; j < whole; j += 8)
                {
                    var start = bias.IsEmpty ? Vector256<float>.Zero : Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(bias), (nuint)j);
                    var (s0, s1, s2, s3, s4, s5, s6, s7) = (start, start, start, start, start, start, start, start);
                    for (var k = 0; k < 9; k++)
                    {
                        var q = neighbours[p * 9 + k];
                        if (q < 0)
                        {
                            continue;
                        }
                        ref var x = ref Unsafe.Add(ref ab, q * inChannels);
                        ref var wk = ref Unsafe.Add(ref w, k * inChannels * outChannels + j);
                        for (var c = 0; c < inChannels; c++)
                        {
                            var wc = Vector256.LoadUnsafe(ref wk, (nuint)(c * outChannels));
                            ref var xc = ref Unsafe.Add(ref x, c);
                            s0 = Vector256.FusedMultiplyAdd(Vector256.Create(xc), wc, s0);
                            s1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref xc, inGrid)), wc, s1);
                            s2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref xc, 2 * inGrid)), wc, s2);
                            s3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref xc, 3 * inGrid)), wc, s3);
                            s4 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref xc, 4 * inGrid)), wc, s4);
                            s5 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref xc, 5 * inGrid)), wc, s5);
                            s6 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref xc, 6 * inGrid)), wc, s6);
                            s7 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref xc, 7 * inGrid)), wc, s7);
                        }
                    }
                    if (relu)
                    {
                        (s0, s1, s2, s3) = (Vector256.Max(s0, Vector256<float>.Zero), Vector256.Max(s1, Vector256<float>.Zero), Vector256.Max(s2, Vector256<float>.Zero), Vector256.Max(s3, Vector256<float>.Zero));
                        (s4, s5, s6, s7) = (Vector256.Max(s4, Vector256<float>.Zero), Vector256.Max(s5, Vector256<float>.Zero), Vector256.Max(s6, Vector256<float>.Zero), Vector256.Max(s7, Vector256<float>.Zero));
                    }
                    StoreRows(ref Unsafe.Add(ref ob, p * outChannels + j), outGrid, s0, s1, s2, s3, s4, s5, s6, s7);
                }
                for (var i = 0; whole < outChannels && i < 8; i++)
                {
                    ConvolvePixel(p, whole, inChannels, outChannels, neighbours, ref Unsafe.Add(ref ab, i * inGrid), ref w, bias, relu, ref Unsafe.Add(ref ob, i * outGrid));
                }
            }
        }
        // The last N % 8 grids one at a time.
        for (; b < n; b++)
        {
            for (var p = 0; p < pixels; p++)
            {
                ConvolvePixel(p, 0, inChannels, outChannels, neighbours, ref Unsafe.Add(ref a, b * inGrid), ref w, bias, relu, ref Unsafe.Add(ref o, b * outGrid));
            }
        }
    }

    /// <summary>Output channels from <paramref name="from"/> on of pixel <paramref name="p"/> of one grid (input and output at the grid's start), one scalar sum each over k, then c.</summary>
    private static void ConvolvePixel(int p, int from, int inChannels, int outChannels, ReadOnlySpan<int> neighbours, ref float grid, ref float w, ReadOnlySpan<float> bias,
        bool relu, ref float output)
    {
        for (var j = from; j < outChannels; j++)
        {
            var sum = bias.IsEmpty ? 0f : bias[j];
            for (var k = 0; k < 9; k++)
            {
                var q = neighbours[p * 9 + k];
                if (q < 0)
                {
                    continue;
                }
                ref var x = ref Unsafe.Add(ref grid, q * inChannels);
                for (var c = 0; c < inChannels; c++)
                {
                    sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref x, c), Unsafe.Add(ref w, (k * inChannels + c) * outChannels + j), sum);
                }
            }
            Unsafe.Add(ref output, p * outChannels + j) = relu ? MathF.Max(sum, 0f) : sum;
        }
    }

    /// <summary>
    /// gradWeight[k, c, o] = Σ_n Σ_p input[n, q, c]·gradOutput[n, p, o] over the pixels p whose
    /// neighbour q at k is inside the grid, in order of n, then p: the weight gradient of
    /// <see cref="Convolve"/>, in its [9, Cin, Cout] layout, overwritten. Eight input channels and
    /// one vector of output channels stay in registers.
    /// </summary>
    public static void ConvolveWeightGrad(int n, int height, int width, int inChannels, int outChannels, ReadOnlySpan<float> input, ReadOnlySpan<float> gradOutput,
        Span<float> gradWeight)
    {
        var pixels = height * width;
        Span<int> neighbours = pixels <= StackCells ? stackalloc int[9 * pixels] : new int[9 * pixels];
        Neighbours(height, width, neighbours);
        // taps[2i], taps[2i + 1]: the i-th pixel p with a neighbour q at the current k, and q.
        Span<int> taps = pixels <= StackCells ? stackalloc int[2 * pixels] : new int[2 * pixels];
        ref var a = ref MemoryMarshal.GetReference(input);
        ref var g = ref MemoryMarshal.GetReference(gradOutput);
        ref var dw = ref MemoryMarshal.GetReference(gradWeight);
        var whole = Vector256.IsHardwareAccelerated ? outChannels - outChannels % 8 : 0;
        var blocks = inChannels - inChannels % 8;
        var (inGrid, outGrid) = (pixels * inChannels, pixels * outChannels);
        for (var k = 0; k < 9; k++)
        {
            var count = 0;
            for (var p = 0; p < pixels; p++)
            {
                if (neighbours[p * 9 + k] >= 0)
                {
                    (taps[2 * count], taps[2 * count + 1]) = (p, neighbours[p * 9 + k]);
                    count++;
                }
            }
            for (var j = 0; j < whole; j += 8)
            {
                for (var cb = 0; cb < blocks; cb += 8)
                {
                    var (s0, s1, s2, s3, s4, s5, s6, s7) = (Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero,
                        Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero);
                    for (var b = 0; b < n; b++)
                    {
                        ref var ab = ref Unsafe.Add(ref a, b * inGrid + cb);
                        ref var gb = ref Unsafe.Add(ref g, b * outGrid + j);
                        for (var t = 0; t < count; t++)
                        {
                            ref var x = ref Unsafe.Add(ref ab, taps[2 * t + 1] * inChannels);
                            var gr = Vector256.LoadUnsafe(ref gb, (nuint)(taps[2 * t] * outChannels));
                            s0 = Vector256.FusedMultiplyAdd(Vector256.Create(x), gr, s0);
                            s1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 1)), gr, s1);
                            s2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 2)), gr, s2);
                            s3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 3)), gr, s3);
                            s4 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 4)), gr, s4);
                            s5 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 5)), gr, s5);
                            s6 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 6)), gr, s6);
                            s7 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 7)), gr, s7);
                        }
                    }
                    StoreRows(ref Unsafe.Add(ref dw, (k * inChannels + cb) * outChannels + j), outChannels, s0, s1, s2, s3, s4, s5, s6, s7);
                }
                for (var c = blocks; c < inChannels; c++)
                {
                    var s = Vector256<float>.Zero;
                    for (var b = 0; b < n; b++)
                    {
                        for (var t = 0; t < count; t++)
                        {
                            var x = Unsafe.Add(ref a, b * inGrid + taps[2 * t + 1] * inChannels + c);
                            s = Vector256.FusedMultiplyAdd(Vector256.Create(x), Vector256.LoadUnsafe(ref g, (nuint)(b * outGrid + taps[2 * t] * outChannels + j)), s);
                        }
                    }
                    s.StoreUnsafe(ref dw, (nuint)((k * inChannels + c) * outChannels + j));
                }
            }
            for (var j = whole; j < outChannels; j++)
            {
                for (var c = 0; c < inChannels; c++)
                {
                    var sum = 0f;
                    for (var b = 0; b < n; b++)
                    {
                        for (var t = 0; t < count; t++)
                        {
                            sum = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, b * inGrid + taps[2 * t + 1] * inChannels + c), Unsafe.Add(ref g, b * outGrid + taps[2 * t] * outChannels + j), sum);
                        }
                    }
                    Unsafe.Add(ref dw, (k * inChannels + c) * outChannels + j) = sum;
                }
            }
        }
    }

    /// <summary>Stores eight vectors <paramref name="stride"/> floats apart from <paramref name="target"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows(ref float target, int stride, Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3,
        Vector256<float> s4, Vector256<float> s5, Vector256<float> s6, Vector256<float> s7)
    {
        s0.StoreUnsafe(ref target);
        s1.StoreUnsafe(ref target, (nuint)stride);
        s2.StoreUnsafe(ref target, (nuint)(2 * stride));
        s3.StoreUnsafe(ref target, (nuint)(3 * stride));
        s4.StoreUnsafe(ref target, (nuint)(4 * stride));
        s5.StoreUnsafe(ref target, (nuint)(5 * stride));
        s6.StoreUnsafe(ref target, (nuint)(6 * stride));
        s7.StoreUnsafe(ref target, (nuint)(7 * stride));
    }

    /// <summary>
    /// weight [Cout, Cin, 3, 3] (PyTorch's layout) → packed [9, Cin, Cout] for <see cref="Convolve"/>;
    /// with <paramref name="transpose"/>, the kernel of the convolution's input gradient instead:
    /// packed [9, Cout, Cin] with position k holding the weight at 8 − k.
    /// </summary>
    public static void PackKernel(int outChannels, int inChannels, bool transpose, ReadOnlySpan<float> weight, Span<float> packed)
    {
        for (var o = 0; o < outChannels; o++)
        {
            for (var c = 0; c < inChannels; c++)
            {
                for (var k = 0; k < 9; k++)
                {
                    var value = weight[(o * inChannels + c) * 9 + k];
                    if (transpose)
                    {
                        packed[((8 - k) * outChannels + o) * inChannels + c] = value;
                    }
                    else
                    {
                        packed[(k * inChannels + c) * outChannels + o] = value;
                    }
                }
            }
        }
    }

    /// <summary>The inverse of <see cref="PackKernel"/> without transposing: packed [9, Cin, Cout] → weight [Cout, Cin, 3, 3].</summary>
    public static void UnpackKernel(int outChannels, int inChannels, ReadOnlySpan<float> packed, Span<float> weight)
    {
        for (var k = 0; k < 9; k++)
        {
            for (var c = 0; c < inChannels; c++)
            {
                for (var o = 0; o < outChannels; o++)
                {
                    weight[(o * inChannels + c) * 9 + k] = packed[(k * inChannels + c) * outChannels + o];
                }
            }
        }
    }

    /// <summary>target[x, z, y] = source[x, y, z] for source [X, Y, Z]: the last two axes swapped.</summary>
    public static void SwapLastAxes(int outer, int rows, int columns, ReadOnlySpan<float> source, Span<float> target)
    {
        for (var x = 0; x < outer; x++)
        {
            var from = source.Slice(x * rows * columns, rows * columns);
            var to = target.Slice(x * rows * columns, rows * columns);
            for (var y = 0; y < rows; y++)
            {
                for (var z = 0; z < columns; z++)
                {
                    to[z * rows + y] = from[y * columns + z];
                }
            }
        }
    }

    /// <summary>values[r, :] = relu(values[r, :] + bias) for rows of <paramref name="columns"/>.</summary>
    public static void BiasRelu(int columns, ReadOnlySpan<float> bias, Span<float> values)
    {
        ref var bb = ref MemoryMarshal.GetReference(bias);
        ref var v = ref MemoryMarshal.GetReference(values);
        for (var row = 0; row < values.Length; row += columns)
        {
            Axpy(1f, ref bb, ref Unsafe.Add(ref v, row), columns);
        }
        Relu(values);
    }

    /// <summary>grad ← grad where output &gt; 0, else 0: the ReLU's backward from its output.</summary>
    public static void ReluGrad(ReadOnlySpan<float> output, Span<float> grad)
    {
        var k = 0;
        if (Vector.IsHardwareAccelerated && output.Length >= Vector<float>.Count)
        {
            var outputs = MemoryMarshal.Cast<float, Vector<float>>(output);
            var grads = MemoryMarshal.Cast<float, Vector<float>>(grad);
            for (var v = 0; v < outputs.Length; v++)
            {
                grads[v] = Vector.ConditionalSelect(Vector.GreaterThan(outputs[v], Vector<float>.Zero), grads[v], Vector<float>.Zero);
            }
            k = outputs.Length * Vector<float>.Count;
        }
        for (; k < output.Length; k++)
        {
            grad[k] = output[k] > 0 ? grad[k] : 0f;
        }
    }

    /// <summary>neighbours[p·9 + k] = the cell output p reads at kernel position k, or −1 outside the grid.</summary>
    private static void Neighbours(int height, int width, Span<int> neighbours)
    {
        for (var p = 0; p < height * width; p++)
        {
            var (py, px) = (p / width, p % width);
            for (var k = 0; k < 9; k++)
            {
                var (y, x) = (py + k / 3 - 1, px + k % 3 - 1);
                neighbours[p * 9 + k] = (uint)y < (uint)height && (uint)x < (uint)width ? y * width + x : -1;
            }
        }
    }

    /// <summary>y[0..n) += a·x[0..n), 8 lanes at a time where the hardware has them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy(float a, ref float x, ref float y, int n)
    {
        var k = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; k + 8 <= n; k += 8)
            {
                var vy = Vector256.LoadUnsafe(ref y, (nuint)k);
                (vy + va * Vector256.LoadUnsafe(ref x, (nuint)k)).StoreUnsafe(ref y, (nuint)k);
            }
        }
        for (; k < n; k++)
        {
            Unsafe.Add(ref y, k) += a * Unsafe.Add(ref x, k);
        }
    }

    private static void Relu(Span<float> values)
    {
        var k = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var vectors = MemoryMarshal.Cast<float, Vector<float>>(values);
            for (var v = 0; v < vectors.Length; v++)
            {
                vectors[v] = Vector.Max(vectors[v], Vector<float>.Zero);
            }
            k = vectors.Length * Vector<float>.Count;
        }
        for (; k < values.Length; k++)
        {
            values[k] = MathF.Max(values[k], 0f);
        }
    }
}
