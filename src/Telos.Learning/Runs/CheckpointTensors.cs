using static TorchSharp.torch;

namespace Telos.Learning.Runs;

/// <summary>Checked reads of a checkpoint's tensors, shared by the trainers' <c>RestoreCheckpoint</c>.</summary>
public static class CheckpointTensors
{
    /// <summary>The tensor <paramref name="name"/>, checked against a shape and a type when they are given.</summary>
    /// <exception cref="TelosInputException">The tensor is missing, or of another shape or type; one line naming <paramref name="source"/>.</exception>
    public static Tensor Get(IReadOnlyDictionary<string, Tensor> tensors, string name, string source, long[]? shape = null, ScalarType? type = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (!tensors.TryGetValue(name, out var t))
        {
            throw new TelosInputException($"{source}: checkpoint has no tensor '{name}'");
        }
        if ((shape is not null && !t.shape.SequenceEqual(shape)) || (type is { } expected && t.dtype != expected))
        {
            throw new TelosInputException($"{source}: tensor '{name}' is {t.dtype} [{string.Join(", ", t.shape)}]; expected {type?.ToString() ?? t.dtype.ToString()} [{string.Join(", ", shape ?? t.shape)}]");
        }
        return t;
    }
}
