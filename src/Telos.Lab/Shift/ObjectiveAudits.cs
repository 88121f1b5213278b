using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Lab.Shift;

/// <summary>
/// Audits of learned objectives that need no rollout: the objective's value at every open cell of a set of levels
/// (any form, the network ones included, through the evaluator a planner uses), how far objectives fitted to the
/// same data disagree there, and — as an oracle check that needs the true reward, which a user does not have —
/// EPIC to the true reward.
/// </summary>
/// <remarks>
/// The maze's objectives are arrival rewards r(s′). EPIC's canonicalization of an arrival reward subtracts a
/// constant (C(R)(s, s′) = r(s′) − E r under independent coverage), so EPIC between two of them is the Pearson
/// distance √((1 − ρ)/2) between their values over the coverage states; here the coverage is uniform over every
/// open cell of the levels (each cell as at a level's start), and the distance is <see cref="Epic.PearsonDistance"/>'s.
/// </remarks>
public static class ObjectiveAudits
{
    /// <summary>
    /// The objective's value at every state of every level (or, with <paramref name="include"/>, at the states it accepts), level after
    /// level in state-index order: the maze's every open cell; for keys &amp; chests the states a room can be in.
    /// </summary>
    public static double[] StateValues<TState>(LoadedObjective objective, IReadOnlyList<IEnumerableEnvironment<TState>> levels, Func<IEnumerableEnvironment<TState>, TState, bool>? include = null)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(levels);
        var values = new List<double>();
        foreach (var level in levels)
        {
            var states = Enumerable.Range(0, level.StateCount).Select(level.StateAt).Where(s => include is null || include(level, s)).ToArray();
            var buffer = new double[states.Length];
            objective.Evaluator<TState>(level).Evaluate(states, buffer);
            values.AddRange(buffer);
        }
        return [.. values];
    }

    /// <summary>EPIC between two arrival rewards given by their values on the same states: <see cref="Epic.PearsonDistance"/> (a constant one is uncorrelated with any other).</summary>
    public static double Distance(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Epic.PearsonDistance(a.ToArray(), b.ToArray());
    }

    /// <summary>
    /// Disagreement of member <paramref name="member"/> with the rest of an ensemble fitted to the same data: the distance
    /// (<see cref="Distance"/>) between its values and the mean of the other members' standardized values, on the same states.
    /// 0: it ranks states as the others do on average; √½: unrelated; 1: opposite.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two members, or members over different states.</exception>
    public static double Disagreement(IReadOnlyList<double[]> ensemble, int member)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        if (ensemble.Count < 2 || ensemble.Any(e => e.Length != ensemble[0].Length))
        {
            throw new ArgumentException("disagreement needs two or more members over the same states", nameof(ensemble));
        }
        var others = new double[ensemble[0].Length];
        foreach (var (values, j) in ensemble.Select((v, j) => (v, j)))
        {
            if (j == member)
            {
                continue;
            }
            var z = Standardize(values);
            for (var i = 0; i < others.Length; i++)
            {
                others[i] += z[i] / (ensemble.Count - 1);
            }
        }
        return Distance(ensemble[member], others);
    }

    /// <summary>The ensemble's spread: over states, the mean standard deviation across members of their standardized values (0: all rank states alike).</summary>
    public static double Spread(IReadOnlyList<double[]> ensemble)
    {
        ArgumentNullException.ThrowIfNull(ensemble);
        var z = ensemble.Select(Standardize).ToArray();
        var total = 0.0;
        for (var i = 0; i < z[0].Length; i++)
        {
            var mean = z.Average(m => m[i]);
            total += Math.Sqrt(z.Average(m => (m[i] - mean) * (m[i] - mean)));
        }
        return total / z[0].Length;
    }

    /// <summary>
    /// The share of a feature card's weight that the identifiability audit cannot pin down: Σ over unidentified features of
    /// |w|·sd(feature), over the same sum for every feature (each weight in units of its feature's spread on the data). 0 when every
    /// weighted feature is identified; null for a card that reads observations (it has no feature weights).
    /// </summary>
    public static double? UnidentifiedWeightShare(ObjectiveCard card, IdentifiabilityReport audit, TransitionSample data)
    {
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(data);
        if (!card.IsLinear)
        {
            return null;
        }
        var features = card.Features;
        var rows = data.FeatureRows(features, next: true);
        var n = rows.Length / features.Length;
        double total = 0, unidentified = 0;
        for (var f = 0; f < features.Length; f++)
        {
            double sum = 0, squares = 0;
            for (var r = 0; r < n; r++)
            {
                var v = rows[r * features.Length + f];
                sum += v;
                squares += v * v;
            }
            var mean = sum / n;
            var sd = Math.Sqrt(Math.Max(0, squares / n - mean * mean));
            var share = Math.Abs(card.Weights[f]) * (sd > 0 ? sd : 1);
            total += share;
            if (audit.IsUnidentified(features[f]))
            {
                unidentified += share;
            }
        }
        return total > 0 ? unidentified / total : 0;
    }

    private static double[] Standardize(double[] values)
    {
        var mean = values.Average();
        var sd = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
        return [.. values.Select(v => sd > 0 ? (v - mean) / sd : 0)];
    }
}
