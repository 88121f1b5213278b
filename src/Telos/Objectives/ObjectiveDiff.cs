namespace Telos.Objectives;

/// <summary>One difference between two cards.</summary>
/// <param name="Field">What differs: form, weight, potential, bias, penalty, feature, gamma, frozen, provenance.</param>
/// <param name="Name">The feature or sub-field, or empty.</param>
/// <param name="Left">The value in the first card, as text ("—" when absent).</param>
/// <param name="Right">The value in the second card.</param>
/// <param name="Delta">Right − Left for numeric fields; NaN otherwise.</param>
public readonly record struct CardDifference(string Field, string Name, string Left, string Right, double Delta);

/// <summary>Diffs two cards field by field, matching weights by feature name.</summary>
public static class ObjectiveDiff
{
    /// <summary>
    /// Every difference between <paramref name="left"/> and <paramref name="right"/>; empty when
    /// the objectives are the same function with the same provenance. Weight differences below
    /// <paramref name="tolerance"/> in absolute value are ignored.
    /// </summary>
    public static IReadOnlyList<CardDifference> Compare(ObjectiveCard left, ObjectiveCard right, double tolerance = 0.0)
    {
        var diffs = new List<CardDifference>();
        if (left.Form != right.Form)
        {
            diffs.Add(new("form", "", ObjectiveCard.FormName(left.Form), ObjectiveCard.FormName(right.Form), double.NaN));
        }
        foreach (var name in left.Features.Union(right.Features, StringComparer.Ordinal))
        {
            var li = left.Features.IndexOf(name);
            var ri = right.Features.IndexOf(name);
            if (li < 0 || ri < 0)
            {
                diffs.Add(new("feature", name, li < 0 ? "—" : "present", ri < 0 ? "—" : "present", double.NaN));
            }
            Numeric(diffs, "weight", name, Value(left.Weights, li), Value(right.Weights, ri), tolerance);
            Numeric(diffs, "potential", name, Value(left.Potential, li), Value(right.Potential, ri), tolerance);
        }
        Numeric(diffs, "bias", "", left.Bias, right.Bias, tolerance);
        if (left.Form == ObjectiveForm.Shaped || right.Form == ObjectiveForm.Shaped)
        {
            Numeric(diffs, "gamma", "", left.Gamma, right.Gamma, 0.0);
        }
        var lp = left.Penalties.Select(Describe).ToHashSet(StringComparer.Ordinal);
        var rp = right.Penalties.Select(Describe).ToHashSet(StringComparer.Ordinal);
        diffs.AddRange(lp.Except(rp).Select(p => new CardDifference("penalty", p, "present", "—", double.NaN)));
        diffs.AddRange(rp.Except(lp).Select(p => new CardDifference("penalty", p, "—", "present", double.NaN)));
        if (left.Frozen != right.Frozen)
        {
            diffs.Add(new("frozen", "", left.Frozen.ToString(), right.Frozen.ToString(), double.NaN));
        }
        if (left.WeightsSha256 != right.WeightsSha256)
        {
            diffs.Add(new("network", "weights_sha256", left.WeightsSha256 ?? "—", right.WeightsSha256 ?? "—", double.NaN));
        }
        var a = left.Provenance;
        var b = right.Provenance;
        Text(diffs, "provenance", "signal", a.Signal, b.Signal);
        Text(diffs, "provenance", "on", a.On, b.On);
        Text(diffs, "provenance", "data_hash", a.DataHash, b.DataHash);
        Text(diffs, "provenance", "seed", a.Seed.ToString(), b.Seed.ToString());
        return diffs;
    }

    private static double? Value(System.Collections.Immutable.ImmutableArray<double> values, int i) =>
        i >= 0 && i < values.Length ? values[i] : null;

    private static void Numeric(List<CardDifference> diffs, string field, string name, double? left, double? right, double tolerance)
    {
        if (left is null && right is null)
        {
            return;
        }
        var l = left ?? 0.0;
        var r = right ?? 0.0;
        if (Math.Abs(r - l) > tolerance || (left is null) != (right is null) && r != l)
        {
            diffs.Add(new(field, name, left is null ? "—" : ObjectiveEdits.F(l), right is null ? "—" : ObjectiveEdits.F(r), r - l));
        }
    }

    private static void Text(List<CardDifference> diffs, string field, string name, string left, string right)
    {
        if (!string.Equals(left, right, StringComparison.Ordinal))
        {
            diffs.Add(new(field, name, left, right, double.NaN));
        }
    }

    private static string Describe(PenaltyTerm p) => $"-{ObjectiveEdits.F(p.Weight)}*max(0, {p.Feature}-{ObjectiveEdits.F(p.Above)})";
}
