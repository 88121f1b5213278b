using Telos.Environments;
using static TorchSharp.torch;

namespace Telos.Learning.Runs;

/// <summary>
/// A batch environment's saved state (<see cref="IBatchedEnvironment{TState}.SaveState"/>) as checkpoint
/// tensors <c>PREFIX{name}</c>, one per array (int32, int64, float32 or uint8), and back.
/// </summary>
public static class BatchedEnvironmentTensors
{
    /// <summary>Adds the environments' arrays to <paramref name="tensors"/> under <paramref name="prefix"/>.</summary>
    /// <exception cref="NotSupportedException">The environments' state cannot be saved.</exception>
    public static void Capture<TState>(IBatchedEnvironment<TState> envs, string prefix, IDictionary<string, Tensor> tensors)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(envs);
        ArgumentNullException.ThrowIfNull(tensors);
        foreach (var (name, array) in envs.SaveState().Arrays)
        {
            tensors[prefix + name] = array switch
            {
                int[] a => tensor(a),
                long[] a => tensor(a),
                float[] a => tensor(a),
                byte[] a => tensor(a),
                _ => throw new InvalidOperationException($"environment state '{name}' has an unsupported type"),
            };
        }
    }

    /// <summary>The arrays of every tensor named <c>PREFIX…</c>, as a state for <see cref="IBatchedEnvironment{TState}.RestoreState"/> (which checks them).</summary>
    /// <exception cref="TelosInputException">A tensor of another type; one line naming <paramref name="source"/>.</exception>
    public static BatchedEnvironmentState Read(IReadOnlyDictionary<string, Tensor> tensors, string prefix, string source)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var arrays = new Dictionary<string, Array>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                arrays[name[prefix.Length..]] = t.dtype switch
                {
                    ScalarType.Int32 => t.data<int>().ToArray(),
                    ScalarType.Int64 => t.data<long>().ToArray(),
                    ScalarType.Float32 => t.data<float>().ToArray(),
                    ScalarType.Byte => t.data<byte>().ToArray(),
                    _ => throw new TelosInputException($"{source}: tensor '{name}' is {t.dtype}; environment state is int32, int64, float32 or uint8"),
                };
            }
        }
        return new BatchedEnvironmentState(arrays);
    }
}
