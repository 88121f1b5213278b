using System.Globalization;
using System.Text;
using System.Text.Json;
using Telos.Environments;
using Telos.Objectives;

namespace Telos.Planning;

/// <summary>How one named feature moved on one plan step.</summary>
/// <param name="Feature">Feature name.</param>
/// <param name="Before">φ(sₜ).</param>
/// <param name="After">φ(sₜ₊₁).</param>
/// <param name="Weight">The objective's weight on the feature, when the objective is feature-linear; else null.</param>
/// <param name="Contribution">Weight × (After − Before): this feature's share of the objective's change; null without weights.</param>
public sealed record FeatureChange(string Feature, double Before, double After, double? Weight, double? Contribution)
{
    /// <summary>After − Before.</summary>
    public double Delta => After - Before;
}

/// <summary>One step of a plan, explained in the objective's own terms.</summary>
/// <param name="Step">t, from 0.</param>
/// <param name="Action">The action taken.</param>
/// <param name="ActionName">Its name ("right", "halt", "a2").</param>
/// <param name="ValueBefore">V(sₜ).</param>
/// <param name="ValueAfter">V(sₜ₊₁).</param>
/// <param name="Features">The features that changed on this step (unchanged ones contribute nothing and are left out).</param>
public sealed record TraceStep(int Step, int Action, string ActionName, double ValueBefore, double ValueAfter, IReadOnlyList<FeatureChange> Features)
{
    /// <summary>V(sₜ₊₁) − V(sₜ).</summary>
    public double ValueDelta => ValueAfter - ValueBefore;
}

/// <summary>
/// "Why this plan": each step's change of the objective and of every named feature; for a
/// feature-linear objective V = b + Σ w·φ, each feature's contribution w·Δφ, which sum to ΔV.
/// </summary>
public sealed class PlanTrace
{
    private PlanTrace(string planner, double[] values, IReadOnlyList<TraceStep> steps, bool linear)
    {
        Planner = planner;
        Values = values;
        Steps = steps;
        Linear = linear;
    }

    /// <summary>The planner that made the plan.</summary>
    public string Planner { get; }

    /// <summary>V along the plan, [T+1].</summary>
    public IReadOnlyList<double> Values { get; }

    /// <summary>One entry per plan step, [T].</summary>
    public IReadOnlyList<TraceStep> Steps { get; }

    /// <summary>Whether per-feature contributions are available (weights were given).</summary>
    public bool Linear { get; }

    /// <summary>V(end) − V(start).</summary>
    public double TotalChange => Values.Count == 0 ? 0 : Values[^1] - Values[0];

    /// <summary>Σₜ w·Δφ per feature over the whole plan, largest |total| first (empty without weights).</summary>
    public IReadOnlyList<(string Feature, double Contribution)> TotalContributions() =>
        Steps.SelectMany(s => s.Features)
            .Where(f => f.Contribution is not null)
            .GroupBy(f => f.Feature, StringComparer.Ordinal)
            .Select(g => (g.Key, g.Sum(f => f.Contribution!.Value)))
            .OrderByDescending(x => Math.Abs(x.Item2))
            .ThenBy(x => x.Key, StringComparer.Ordinal)
            .ToArray();

    /// <summary>
    /// The weights by feature name of a feature-linear card (linear, sparse, monotone; shaped: its
    /// base U), for per-feature contributions; null for neural forms. Penalties are not included.
    /// </summary>
    public static IReadOnlyDictionary<string, double>? LinearWeights(ObjectiveCard card)
    {
        ArgumentNullException.ThrowIfNull(card);
        if (!card.IsLinear)
        {
            return null;
        }
        var weights = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < card.Features.Length && i < card.Weights.Length; i++)
        {
            weights[card.Features[i]] = card.Weights[i];
        }
        return weights;
    }

    /// <summary>Explains <paramref name="plan"/> under <paramref name="objective"/>.</summary>
    /// <param name="planner">Name for the report.</param>
    /// <param name="environment">Writes the named features.</param>
    /// <param name="objective">Values the plan's states in one batched call.</param>
    /// <param name="plan">States [T+1].</param>
    /// <param name="actions">Actions [T].</param>
    /// <param name="weights">Feature-linear objectives: weight per feature name (features absent from it get no contribution); null otherwise.</param>
    /// <param name="actionName">Names actions; default <c>a0</c>, <c>a1</c>, ….</param>
    public static PlanTrace Build<TState>(string planner, IEnvironment<TState> environment, IStateEvaluator<TState> objective,
        IReadOnlyList<TState> plan, IReadOnlyList<int> actions, IReadOnlyDictionary<string, double>? weights = null, Func<int, string>? actionName = null)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(objective);
        if (plan.Count != actions.Count + 1)
        {
            throw new ArgumentException($"{actions.Count} actions need {actions.Count + 1} states, not {plan.Count}");
        }
        actionName ??= a => "a" + a.ToString(CultureInfo.InvariantCulture);
        var states = plan.ToArray();
        var values = new double[states.Length];
        objective.Evaluate(states, values);
        var schema = environment.Features;
        var f = schema.Count;
        var features = new double[states.Length * f];
        for (var t = 0; t < states.Length; t++)
        {
            environment.WriteFeatures(states[t], features.AsSpan(t * f, f));
        }
        var steps = new TraceStep[actions.Count];
        for (var t = 0; t < steps.Length; t++)
        {
            var changes = new List<FeatureChange>();
            for (var k = 0; k < f; k++)
            {
                var before = features[t * f + k];
                var after = features[(t + 1) * f + k];
                if (before == after)
                {
                    continue;
                }
                double? w = weights is not null && weights.TryGetValue(schema.Names[k], out var wk) ? wk : null;
                changes.Add(new FeatureChange(schema.Names[k], before, after, w, w * (after - before)));
            }
            steps[t] = new TraceStep(t, actions[t], actionName(actions[t]), values[t], values[t + 1], changes);
        }
        return new PlanTrace(planner, values, steps, weights is not null);
    }

    /// <summary>
    /// Text, one line per step: <c>t=3 right  V -4 → -3 (+1), to go +3  path_dist_to_corner 5→4 (w -1: +1)</c>;
    /// for a linear objective the features with a non-zero w·Δφ (largest first), otherwise the features
    /// with the largest |Δφ|, at most <paramref name="topFeatures"/>; then the plan's total per feature.
    /// </summary>
    public string Render(int topFeatures = 3)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"plan ({Planner}): {Steps.Count} steps, objective {F(Values.Count > 0 ? Values[0] : 0)} → {F(Values.Count > 0 ? Values[^1] : 0)} ({Signed(TotalChange)})\n");
        foreach (var step in Steps)
        {
            // "to go": what the rest of the plan still gains, which is why a step that changes nothing is taken.
            text.Append(CultureInfo.InvariantCulture, $"  t={step.Step,-3} {step.ActionName,-6} V {F(step.ValueBefore)} → {F(step.ValueAfter)} ({Signed(step.ValueDelta)}), to go {Signed(Values[^1] - step.ValueBefore)}");
            // A linear objective is explained by its weighted features only; otherwise the features that moved most.
            var shown = (Linear ? step.Features.Where(c => c.Contribution is { } x && x != 0) : step.Features)
                .OrderByDescending(c => Math.Abs(c.Contribution ?? c.Delta))
                .ThenBy(c => c.Feature, StringComparer.Ordinal)
                .Take(topFeatures);
            foreach (var c in shown)
            {
                text.Append(CultureInfo.InvariantCulture, $"  {c.Feature} {F(c.Before)}→{F(c.After)}");
                if (c.Weight is { } w)
                {
                    text.Append(CultureInfo.InvariantCulture, $" (w {w.ToString("G3", CultureInfo.InvariantCulture)}: {Signed(c.Contribution!.Value)})");
                }
            }
            text.Append('\n');
        }
        var totals = TotalContributions();
        if (totals.Count > 0)
        {
            text.Append("  why: ");
            var shownTotals = totals.Where(x => Math.Abs(x.Contribution) >= 0.005).Take(topFeatures + 1).Select(x => $"{x.Feature} {Signed(x.Contribution)}").ToArray();
            text.Append(shownTotals.Length > 0 ? string.Join(", ", shownTotals) : "no weighted feature changed");
            text.Append('\n');
        }
        return text.ToString();
    }

    /// <summary>JSON: <c>{"planner","values":[…],"steps":[{"step","action","action_name","value_before","value_after","features":[{"feature","before","after","weight","contribution"}]}]}</c>.</summary>
    public string ToJson() => JsonSerializer.Serialize(ToJsonObject());

    /// <summary>The JSON shape as an anonymous object (for embedding in a larger document).</summary>
    public object ToJsonObject() => new
    {
        planner = Planner,
        values = Values,
        total_change = TotalChange,
        steps = Steps.Select(s => new
        {
            step = s.Step,
            action = s.Action,
            action_name = s.ActionName,
            value_before = s.ValueBefore,
            value_after = s.ValueAfter,
            features = s.Features.Select(c => new { feature = c.Feature, before = c.Before, after = c.After, weight = c.Weight, contribution = c.Contribution }),
        }),
    };

    // Two decimals; values that round to zero print as 0 (never "-0").
    private static string F(double x) => Math.Abs(x) < 0.005 ? "0" : x.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Signed(double x) => Math.Abs(x) < 0.005 ? "+0" : (x > 0 ? "+" : "") + x.ToString("0.##", CultureInfo.InvariantCulture);
}
