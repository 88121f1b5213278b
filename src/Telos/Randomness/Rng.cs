namespace Telos.Randomness;

/// <summary>
/// xoshiro256** pseudo-random generator: a mutable struct, so hot paths draw numbers without
/// allocating. Same seed, same stream on every machine and .NET version (unlike
/// <see cref="System.Random"/>'s unseeded form). Copying the struct forks the stream.
/// </summary>
public struct Rng
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Seeds the four state words from <paramref name="seed"/> through SplitMix64.</summary>
    public Rng(ulong seed)
    {
        _s0 = SplitMix64(ref seed);
        _s1 = SplitMix64(ref seed);
        _s2 = SplitMix64(ref seed);
        _s3 = SplitMix64(ref seed);
    }

    /// <summary>The four state words, for saving a stream mid-way (a checkpoint); <see cref="FromState"/> continues it.</summary>
    public readonly ulong[] State() => [_s0, _s1, _s2, _s3];

    /// <summary>The stream whose state words are <paramref name="state"/> (from <see cref="State"/>): it continues where that stream was.</summary>
    /// <exception cref="TelosInputException">Not four words, or all four zero (xoshiro's one invalid state).</exception>
    public static Rng FromState(ReadOnlySpan<ulong> state)
    {
        if (state.Length != 4 || (state[0] | state[1] | state[2] | state[3]) == 0)
        {
            throw new TelosInputException($"a random stream's state is 4 words, not all zero (got {state.Length} words)");
        }
        var rng = default(Rng);
        (rng._s0, rng._s1, rng._s2, rng._s3) = (state[0], state[1], state[2], state[3]);
        return rng;
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextULong()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, <paramref name="maxExclusive"/>); <paramref name="maxExclusive"/> must be positive.</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "must be positive");
        }
        // Lemire's multiply-shift: unbiased enough for maxExclusive far below 2^32.
        return (int)(((NextULong() >> 32) * (ulong)maxExclusive) >> 32);
    }

    /// <summary>Uniform in [0, 1) with 53 bits of precision.</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal by Box–Muller.</summary>
    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Standard Gumbel sample, −log(−log U).</summary>
    public double NextGumbel()
    {
        var u = NextDouble();
        return -Math.Log(-Math.Log(u + 1e-300) + 1e-300);
    }

    internal static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
