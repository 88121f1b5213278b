namespace Telos.Planning.Search;

/// <summary>Per-root seeds derived from one search seed.</summary>
public static class SearchSeeds
{
    /// <summary>The seed of root <paramref name="rootIndex"/> under <paramref name="seed"/>: a pure function of both.</summary>
    public static ulong ForRoot(ulong seed, int rootIndex)
    {
        var state = seed ^ 0x6A09E667F3BCC909UL;
        var mixed = Mix(state + 0x9E3779B97F4A7C15UL * (ulong)(uint)(rootIndex + 1));
        return Mix(mixed ^ seed);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
