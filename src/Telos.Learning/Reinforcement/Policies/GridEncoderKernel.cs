using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
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
    /// as a sum over the input's nonzero cells in managed code, the second as one GEMM over its
    /// im2col matrix, the linear layer as one GEMM, the ReLUs and the layout changes in managed code.
    /// The same function as <see cref="LibTorch"/> to float rounding (tested to 1e-5), not bit-identical.
    /// </summary>
    Fused,
}

/// <summary>
/// <see cref="GridEncoder"/>'s forward (3×3 convolution, padding 1, ReLU; 3×3 convolution, padding
/// 1, ReLU; unless spatial, flatten, linear, ReLU) as one custom autograd node, for the small grids
/// PPO's policies see, where LibTorch's per-op cost and oneDNN's per-call reorders outweigh the
/// arithmetic. The observations are one-hot grids, so the first convolution visits only their
/// nonzero cells; activations are kept pixel-major ([N, H·W, C]) inside the node so that an im2col
/// row is nine contiguous copies, and the weights are permuted to match. GEMMs are LibTorch's
/// <c>mm</c>; everything else is loops here in a fixed order (same inputs → same bits on one machine).
/// No gradient flows to the observations.
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
    /// the observations, a1 [N, P, C1], the im2col matrix [N·P, 9·C1], a2 [N·P, C2], conv2's permuted
    /// weight [C2, 9·C1], and with the linear layer its permuted weight [F, P·C2] and its output.
    /// </summary>
    internal static Tensor Forward(Tensor input, Tensor[] weights, List<Tensor>? saved)
    {
        var x = input.detach().contiguous();
        var (n, channels, height, width) = ((int)x.shape[0], (int)x.shape[1], (int)x.shape[2], (int)x.shape[3]);
        var pixels = height * width;
        var (c1, c2) = ((int)weights[0].shape[0], (int)weights[2].shape[0]);
        // conv1ᵀ [(c, k), o]; conv2 with columns (k, c); linear with columns (p, c2): the pixel-major layouts below.
        var w1 = weights[0].detach().reshape(c1, channels * 9).t().contiguous();
        var b1 = weights[1].detach().contiguous();
        var w2 = weights[2].detach().reshape(c2, c1, 9).transpose(1, 2).contiguous().view(c2, 9 * c1);
        var b2 = weights[3].detach().contiguous();
        var a1 = empty(n, pixels, c1);
        GridEncoderArithmetic.SparseConvolution(n, channels, height, width, c1, Floats(x), Floats(w1), Floats(b1), Floats(a1));
        var columns = empty((long)n * pixels, 9 * c1);
        GridEncoderArithmetic.Im2Col(n, height, width, c1, Floats(a1), Floats(columns));
        var a2 = columns.mm(w2.t());
        GridEncoderArithmetic.BiasRelu(c2, Floats(b2), Floats(a2));
        saved?.AddRange([x, a1, columns, a2, w2]);
        if (weights.Length == 4)
        {
            return a2.view(n, pixels, c2).permute(0, 2, 1).contiguous().view(n, c2, height, width);
        }
        var features = (int)weights[4].shape[0];
        var w3 = weights[4].detach().reshape(features, c2, pixels).transpose(1, 2).contiguous().view(features, pixels * c2);
        var b3 = weights[5].detach().contiguous();
        var a3 = a2.view(n, pixels * c2).mm(w3.t());
        GridEncoderArithmetic.BiasRelu(features, Floats(b3), Floats(a3));
        saved?.AddRange([w3, a3]);
        return a3;
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, List<Tensor> grad_outputs)
    {
        var saved = ctx.get_saved_variables();
        var (x, a1, columns, a2, w2) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
        var (n, channels, height, width) = ((int)x.shape[0], (int)x.shape[1], (int)x.shape[2], (int)x.shape[3]);
        var pixels = height * width;
        var (c1, c2) = ((int)a1.shape[2], (int)a2.shape[1]);
        var flat = saved.Count == 7;
        Tensor gradA2;                 // dL/da2, then dL/dz2, [N·P, C2]
        Tensor? gradW3 = null, gradB3 = null;
        if (flat)
        {
            var (w3, a3) = (saved[5], saved[6]);
            var features = (int)w3.shape[0];
            var gradZ3 = grad_outputs[0].contiguous().clone();
            GridEncoderArithmetic.ReluGrad(Floats(a3), Floats(gradZ3));
            gradB3 = gradZ3.sum(dim: 0);
            gradW3 = gradZ3.t().mm(a2.view(n, pixels * c2)).view(features, pixels, c2).transpose(1, 2).contiguous().view(features, c2 * pixels);
            gradA2 = gradZ3.mm(w3).view((long)n * pixels, c2);
        }
        else
        {
            gradA2 = grad_outputs[0].reshape(n, c2, pixels).permute(0, 2, 1).contiguous().view((long)n * pixels, c2);
        }
        GridEncoderArithmetic.ReluGrad(Floats(a2), Floats(gradA2));
        var gradB2 = gradA2.sum(dim: 0);
        var gradW2 = gradA2.t().mm(columns).view(c2, 9, c1).transpose(1, 2).contiguous().view(c2, c1, 3, 3);
        var gradColumns = gradA2.mm(w2);
        var gradA1 = zeros(n, pixels, c1);
        GridEncoderArithmetic.Col2Im(n, height, width, c1, Floats(gradColumns), Floats(gradA1));
        GridEncoderArithmetic.ReluGrad(Floats(a1), Floats(gradA1));
        var gradW1 = zeros(channels * 9, c1);
        var gradB1 = zeros(c1);
        GridEncoderArithmetic.SparseConvolutionGrad(n, channels, height, width, c1, Floats(x), Floats(gradA1), Floats(gradW1), Floats(gradB1));
        List<Tensor> grads = [null!, gradW1.t().contiguous().view(c1, channels, 3, 3), gradB1, gradW2, gradB2];
        if (flat)
        {
            grads.AddRange([gradW3!, gradB3!]);
        }
        return grads;
    }

    private static Span<float> Floats(Tensor contiguous) => MemoryMarshal.Cast<byte, float>(contiguous.bytes);
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

    /// <summary>columns[(n, p), (k, c)] = activation[n, q, c] for p's neighbour q at k, 0 outside the grid: [N·P, 9·C].</summary>
    public static void Im2Col(int n, int height, int width, int channels, ReadOnlySpan<float> activation, Span<float> columns)
    {
        var pixels = height * width;
        Span<int> neighbours = pixels <= StackCells ? stackalloc int[9 * pixels] : new int[9 * pixels];
        Neighbours(height, width, neighbours);
        ref var a = ref MemoryMarshal.GetReference(activation);
        ref var col = ref MemoryMarshal.GetReference(columns);
        for (var b = 0; b < n; b++)
        {
            for (var p = 0; p < pixels; p++)
            {
                var row = (b * pixels + p) * 9 * channels;
                for (var k = 0; k < 9; k++)
                {
                    var q = neighbours[p * 9 + k];
                    ref var target = ref Unsafe.Add(ref col, row + k * channels);
                    if (q >= 0)
                    {
                        Copy(ref Unsafe.Add(ref a, (b * pixels + q) * channels), ref target, channels);
                    }
                    else
                    {
                        Zero(ref target, channels);
                    }
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col"/>: gradActivation[n, q, c] += gradColumns[(n, p), (k, c)] (zeroed by the caller).</summary>
    public static void Col2Im(int n, int height, int width, int channels, ReadOnlySpan<float> gradColumns, Span<float> gradActivation)
    {
        var pixels = height * width;
        Span<int> neighbours = pixels <= StackCells ? stackalloc int[9 * pixels] : new int[9 * pixels];
        Neighbours(height, width, neighbours);
        ref var gc = ref MemoryMarshal.GetReference(gradColumns);
        ref var ga = ref MemoryMarshal.GetReference(gradActivation);
        for (var b = 0; b < n; b++)
        {
            for (var p = 0; p < pixels; p++)
            {
                var row = (b * pixels + p) * 9 * channels;
                for (var k = 0; k < 9; k++)
                {
                    var q = neighbours[p * 9 + k];
                    if (q >= 0)
                    {
                        Axpy(1f, ref Unsafe.Add(ref gc, row + k * channels), ref Unsafe.Add(ref ga, (b * pixels + q) * channels), channels);
                    }
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(ref float source, ref float target, int n)
    {
        var k = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; k + 8 <= n; k += 8)
            {
                Vector256.LoadUnsafe(ref source, (nuint)k).StoreUnsafe(ref target, (nuint)k);
            }
        }
        for (; k < n; k++)
        {
            Unsafe.Add(ref target, k) = Unsafe.Add(ref source, k);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Zero(ref float target, int n)
    {
        var k = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; k + 8 <= n; k += 8)
            {
                Vector256<float>.Zero.StoreUnsafe(ref target, (nuint)k);
            }
        }
        for (; k < n; k++)
        {
            Unsafe.Add(ref target, k) = 0f;
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
