namespace Telos.Planning.Search;

/// <summary>
/// The visit schedule of Gumbel MuZero's sequential halving, exactly as mctx's
/// <c>seq_halving.get_sequence_of_considered_visits</c>: at simulation i the root may only visit
/// considered actions whose visit count equals <c>sequence[i]</c>.
/// </summary>
public static class SequentialHalving
{
    /// <summary>
    /// The sequence for <paramref name="maxConsidered"/> considered actions and
    /// <paramref name="simulations"/> simulations, of length <paramref name="simulations"/>.
    /// </summary>
    public static int[] ConsideredVisits(int maxConsidered, int simulations)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxConsidered);
        ArgumentOutOfRangeException.ThrowIfNegative(simulations);
        var sequence = new int[simulations];
        if (maxConsidered <= 1)
        {
            for (var i = 0; i < simulations; i++)
            {
                sequence[i] = i;
            }
            return sequence;
        }
        var log2Max = (int)Math.Ceiling(Math.Log2(maxConsidered));
        var visits = new int[maxConsidered];
        var considered = maxConsidered;
        var length = 0;
        while (length < simulations)
        {
            var extraVisits = Math.Max(1, (int)((double)simulations / (log2Max * considered)));
            for (var e = 0; e < extraVisits; e++)
            {
                for (var i = 0; i < considered && length < simulations; i++)
                {
                    sequence[length++] = visits[i];
                }
                for (var i = 0; i < considered; i++)
                {
                    visits[i]++;
                }
            }
            considered = Math.Max(2, considered / 2);
        }
        return sequence;
    }

    /// <summary>
    /// The table mctx indexes as <c>table[num_considered, simulation]</c>: row m is
    /// <see cref="ConsideredVisits"/>(m, simulations), for m = 0..<paramref name="maxConsidered"/>; flattened row-major.
    /// </summary>
    public static int[] Table(int maxConsidered, int simulations)
    {
        var table = new int[(maxConsidered + 1) * simulations];
        for (var m = 0; m <= maxConsidered; m++)
        {
            ConsideredVisits(m, simulations).CopyTo(table, m * simulations);
        }
        return table;
    }
}
