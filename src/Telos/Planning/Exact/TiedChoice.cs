using Telos.Randomness;

namespace Telos.Planning.Exact;

/// <summary>The exact planners' one tie rule: which of several equally good options to take.</summary>
public static class TiedChoice
{
    /// <summary>
    /// Picks an index whose value is at least <paramref name="floor"/>: the lowest such index under
    /// <see cref="TieBreak.First"/>, or one drawn uniformly from <paramref name="rng"/> under
    /// <see cref="TieBreak.Random"/> (the stream is advanced only when there is more than one).
    /// </summary>
    /// <returns>The index, or −1 if no value reaches the floor.</returns>
    public static int Pick(ReadOnlySpan<double> values, double floor, TieBreak rule, ref Rng rng)
    {
        var tied = 0;
        var first = -1;
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] >= floor)
            {
                tied++;
                first = first < 0 ? i : first;
            }
        }
        if (rule == TieBreak.First || tied <= 1)
        {
            return first;
        }
        var pick = rng.NextInt(tied);
        for (var i = first; ; i++)
        {
            if (values[i] >= floor && pick-- == 0)
            {
                return i;
            }
        }
    }
}
