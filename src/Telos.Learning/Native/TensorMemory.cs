using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Telos.Learning.Native;

/// <summary>A tensor's memory as managed code reads and writes it, for the kernels that work on it in place.</summary>
internal static class TensorMemory
{
    /// <summary>The float32 elements of <paramref name="contiguous"/> (which must be dense; <see cref="Dense"/> makes it so) as a span over LibTorch's memory.</summary>
    public static Span<float> Floats(Tensor contiguous) => MemoryMarshal.Cast<byte, float>(contiguous.bytes);

    /// <summary><paramref name="tensor"/> itself when its memory is already dense (no new tensor, no op), else a contiguous copy.</summary>
    public static Tensor Dense(Tensor tensor) => tensor.is_contiguous() ? tensor : tensor.contiguous();
}
