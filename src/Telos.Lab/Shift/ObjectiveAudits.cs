using Telos.Environments;
using Telos.Learning.Objectives;
using Telos.Objectives;

namespace Telos.Lab.Shift;

/// <summary>
/// Audits of learned objectives that need no rollout: the objective's value at every open cell of a set of levels
/// (any form, the network ones included, through the evaluator a planner uses), how far objectives fitted to the
/// same data disagree there (across forms, and within one form's seed ensemble), and — as an oracle check that needs the true reward, which a user does not have —
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

    /// <summary>EPIC between two arrival rewards given by their values on the same states: <see cref="Epic.PearsonDistance"/> (a constant one is uncorrelated with any varying one; two constant ones agree).</summary>
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

    /// <summary>
    /// The disagreement within a seed ensemble (objectives of one form fitted to the same data with different initialization seeds):
    /// the mean over pairs of members of their <see cref="Distance"/> on the same states (two constant members agree; a constant and a
    /// varying one are unrelated, <see cref="Epic.PearsonDistance"/>). 0: every member ranks the states alike (e.g. a fit whose optimum
    /// does not depend on the initialization); √½: members unrelated; 1: opposite.
    /// </summary>
    /// <exception cref="ArgumentException">Fewer than two members, or members over different states.</exception>
    public static double EnsembleDisagreement(IReadOnlyList<double[]> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count < 2 || members.Any(m => m.Length != members[0].Length))
        {
            throw new ArgumentException("an ensemble needs two or more members over the same states", nameof(members));
        }
        var total = 0.0;
        var pairs = 0;
        for (var i = 0; i < members.Count; i++)
        {
            for (var j = i + 1; j < members.Count; j++)
            {
                total += Distance(members[i], members[j]);
                pairs++;
            }
        }
        return total / pairs;
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
    /// The share of an objective's dependence on its named features that the identifiability audit cannot pin down: Σ over
    /// unidentified features of sᵢ·sd(feature), over the same sum for every feature, where sᵢ is |wᵢ| for a linear-family card
    /// and, for a network over the features, the mean over the training states of |∂V/∂xᵢ| (which is |wᵢ| for a linear one), so
    /// each feature's share is in units of its spread on the data. 0 when V reads only identified features; null for an
    /// objective over the one-hot observation (it reads no named feature, so the audit of the features does not apply).
    /// </summary>
    public static double? UnidentifiedWeightShare(LoadedObjective objective, IdentifiabilityReport audit, TransitionSample data)
    {
        ArgumentNullException.ThrowIfNull(objective);
        ArgumentNullException.ThrowIfNull(data);
        var card = objective.Card;
        if (card.IsLinear)
        {
            return UnidentifiedWeightShare(card, audit, data);
        }
        if (objective.Module is not { Input: ObjectiveInput.Features } module)
        {
            return null;
        }
        var rows = data.FeatureRows(card.Features, next: true);
        return Share(card.Features, module.MeanAbsoluteGradient(rows, card.Features.Length), rows, audit);
    }

    /// <summary>
    /// <see cref="UnidentifiedWeightShare(LoadedObjective, IdentifiabilityReport, TransitionSample)"/> of a card: its weights for
    /// a linear-family card; null for a network card (it has no weights of its own).
    /// </summary>
    public static double? UnidentifiedWeightShare(ObjectiveCard card, IdentifiabilityReport audit, TransitionSample data)
    {
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(audit);
        ArgumentNullException.ThrowIfNull(data);
        return card.IsLinear ? Share(card.Features, [.. card.Weights.Select(Math.Abs)], data.FeatureRows(card.Features, next: true), audit) : null;
    }

    private static double Share(IReadOnlyList<string> features, double[] sensitivity, double[] rows, IdentifiabilityReport audit)
    {
        ArgumentNullException.ThrowIfNull(audit);
        var n = rows.Length / features.Count;
        double total = 0, unidentified = 0;
        for (var f = 0; f < features.Count; f++)
        {
            double sum = 0, squares = 0;
            for (var r = 0; r < n; r++)
            {
                var v = rows[r * features.Count + f];
                sum += v;
                squares += v * v;
            }
            var mean = sum / n;
            var sd = Math.Sqrt(Math.Max(0, squares / n - mean * mean));
            var share = sensitivity[f] * (sd > 0 ? sd : 1);
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
