using Telos.Learning.Native;
using TorchSharp;
using TorchSharp.PyBridge;

namespace Telos.Learning.Runs;

/// <summary>A tensor's dtype (lower-case TorchSharp name, e.g. <c>float32</c>) and shape, as a checkpoint sidecar records it.</summary>
public sealed record TensorDescription(string Dtype, long[] Shape);

/// <summary>
/// Named tensors to and from safetensors bytes (the format PyTorch's <c>safetensors.torch</c> reads).
/// This is the only place the run store's checkpoints touch LibTorch: a run that saves no tensors never
/// calls it, so it never loads the native library.
/// </summary>
public static class SafetensorsBytes
{
    /// <summary>Serializes <paramref name="tensors"/> (CPU) and describes each one.</summary>
    public static (byte[] Bytes, IReadOnlyDictionary<string, TensorDescription> Tensors) Encode(IReadOnlyDictionary<string, torch.Tensor> tensors)
    {
        TorchRuntime.EnsureInitialized();
        using var buffer = new MemoryStream();
        Safetensors.SaveStateDict(buffer, new Dictionary<string, torch.Tensor>(tensors), leaveOpen: true);
        var described = tensors.ToDictionary(t => t.Key, t => new TensorDescription(t.Value.dtype.ToString().ToLowerInvariant(), t.Value.shape), StringComparer.Ordinal);
        return (buffer.ToArray(), described);
    }

    /// <summary>Reads tensors back; the caller owns (disposes) them.</summary>
    /// <exception cref="TelosInputException">The bytes are not a readable safetensors file; the message names <paramref name="source"/>.</exception>
    public static Dictionary<string, torch.Tensor> Decode(byte[] bytes, string source)
    {
        TorchRuntime.EnsureInitialized();
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            return Safetensors.LoadStateDict(stream, leaveOpen: false);
        }
        catch (Exception e) when (e is not TelosInputException)
        {
            throw new TelosInputException($"{source}: corrupt checkpoint: {e.Message.ReplaceLineEndings(" ").Trim()}", e);
        }
    }
}
