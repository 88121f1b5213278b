using System.Globalization;
using Telos.Randomness;

namespace Telos.Environments;

/// <summary>
/// A batch environment's mutable state as named arrays (<c>int[]</c>, <c>long[]</c>, <c>float[]</c>
/// or <c>byte[]</c>), for checkpoints: what <see cref="IBatchedEnvironment{TState}.SaveState"/> returns
/// and <see cref="IBatchedEnvironment{TState}.RestoreState"/> takes back. The arrays are copies; the
/// level pool is not in it (environments built with the same distribution, count, seed and pool size
/// regenerate the same pool).
/// </summary>
public sealed class BatchedEnvironmentState
{
    private readonly Dictionary<string, Array> _arrays;

    /// <summary>A state of the given arrays (kept, not copied).</summary>
    /// <exception cref="ArgumentException">An array of another element type than int, long, float or byte.</exception>
    public BatchedEnvironmentState(IReadOnlyDictionary<string, Array> arrays)
    {
        ArgumentNullException.ThrowIfNull(arrays);
        foreach (var (name, array) in arrays)
        {
            if (array is not (int[] or long[] or float[] or byte[]))
            {
                throw new ArgumentException($"state array '{name}' is {array.GetType().Name}; expected int[], long[], float[] or byte[]", nameof(arrays));
            }
        }
        _arrays = new Dictionary<string, Array>(arrays, StringComparer.Ordinal);
    }

    /// <summary>The arrays by name.</summary>
    public IReadOnlyDictionary<string, Array> Arrays => _arrays;

    /// <summary>The array <paramref name="name"/>, checked to hold <paramref name="length"/> values of type <typeparamref name="T"/>.</summary>
    /// <exception cref="TelosInputException">Missing, of another type or of another length; names the array.</exception>
    public T[] Get<T>(string name, int length)
        where T : struct
    {
        if (!_arrays.TryGetValue(name, out var array))
        {
            throw new TelosInputException($"environment state has no array '{name}'");
        }
        if (array is not T[] typed || typed.Length != length)
        {
            throw new TelosInputException(string.Create(CultureInfo.InvariantCulture,
                $"environment state '{name}': expected {length} {typeof(T).Name} values, got {array.Length} {array.GetType().GetElementType()!.Name}"));
        }
        return typed;
    }

    /// <summary>A random stream's state as the four words an array holds (<see cref="Stream"/> reads it back).</summary>
    public static long[] Words(Rng stream) => Array.ConvertAll(stream.State(), w => unchecked((long)w));

    /// <summary>The random stream saved as <paramref name="name"/> by <see cref="Words"/>.</summary>
    /// <exception cref="TelosInputException">Missing, not four int64 words, or all zero.</exception>
    public Rng Stream(string name) => Rng.FromState(Array.ConvertAll(Get<long>(name, 4), w => unchecked((ulong)w)));

    /// <summary>Throws unless every value of <paramref name="values"/> is in [0, <paramref name="maxExclusive"/>).</summary>
    /// <exception cref="TelosInputException">The first value out of range, naming the array and index.</exception>
    public static void RequireRange(string name, ReadOnlySpan<int> values, int maxExclusive)
    {
        for (var i = 0; i < values.Length; i++)
        {
            if ((uint)values[i] >= (uint)maxExclusive)
            {
                throw new TelosInputException(string.Create(CultureInfo.InvariantCulture, $"environment state '{name}'[{i}] is {values[i]}; expected 0 to {maxExclusive - 1}"));
            }
        }
    }
}
