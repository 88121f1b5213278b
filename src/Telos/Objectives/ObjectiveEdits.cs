using System.Globalization;

namespace Telos.Objectives;

/// <summary>
/// Programmer edits of a card. Each returns a new card with the revision bumped and the edit
/// recorded in the history; invalid edits (unknown feature, a sign against a monotone
/// declaration, a network form's non-existent named weight) throw <see cref="TelosInputException"/>.
/// Edits are allowed on frozen cards: freezing stops training signals, not the programmer.
/// </summary>
public static class ObjectiveEdits
{
    /// <summary>Sets the weight of <paramref name="feature"/> to <paramref name="value"/>.</summary>
    public static ObjectiveCard SetWeight(this ObjectiveCard card, string feature, double value)
    {
        var i = card.RequireWeightIndex(feature);
        if (!double.IsFinite(value))
        {
            throw new TelosInputException($"--set {feature}: value {value} is not a finite number");
        }
        if (card.Form == ObjectiveForm.Monotone && card.Signs[i] != 0 && value * card.Signs[i] < 0)
        {
            throw new TelosInputException($"--set {feature}={F(value)}: the monotone card declares sign {card.Signs[i]:+0;-0} for '{feature}'");
        }
        return Record(card with { Weights = card.Weights.SetItem(i, value) }, $"set {feature}={F(value)} (was {F(card.Weights[i])})");
    }

    /// <summary>
    /// Adds a named weight the card does not have yet — a feature it never trained on, such as a gem level's <c>at_gem</c> — with
    /// <paramref name="value"/> (a monotone card declares no sign for it; a shaped card gets potential 0 on it). The card then reads
    /// that feature, so it binds only to levels that write it.
    /// </summary>
    /// <exception cref="TelosInputException">The card already reads the feature, the value is not finite, or the form has no named weights.</exception>
    public static ObjectiveCard AddWeight(this ObjectiveCard card, string feature, double value)
    {
        ArgumentNullException.ThrowIfNull(card);
        ArgumentException.ThrowIfNullOrWhiteSpace(feature);
        if (!card.IsLinear)
        {
            throw new TelosInputException($"--add {feature}: a {ObjectiveCard.FormName(card.Form)} card has no named weights");
        }
        if (card.Features.Contains(feature))
        {
            throw new TelosInputException($"--add {feature}: the card already reads '{feature}'; use set");
        }
        if (!double.IsFinite(value))
        {
            throw new TelosInputException($"--add {feature}: value {value} is not a finite number");
        }
        var added = card with
        {
            Features = card.Features.Add(feature),
            Weights = card.Weights.Add(value),
            Signs = card.Signs.IsDefaultOrEmpty ? card.Signs : card.Signs.Add(0),
            Potential = card.Potential.IsDefaultOrEmpty ? card.Potential : card.Potential.Add(0.0),
        };
        return Record(added, $"add {feature}={F(value)}");
    }

    /// <summary>Multiplies the weight of <paramref name="feature"/> by <paramref name="factor"/>.</summary>
    public static ObjectiveCard ScaleWeight(this ObjectiveCard card, string feature, double factor)
    {
        var i = card.RequireWeightIndex(feature);
        if (!double.IsFinite(factor))
        {
            throw new TelosInputException($"--scale {feature}: factor {factor} is not a finite number");
        }
        if (card.Form == ObjectiveForm.Monotone && card.Signs[i] != 0 && factor < 0)
        {
            throw new TelosInputException($"--scale {feature}={F(factor)}: a negative factor breaks the monotone card's declared sign for '{feature}'");
        }
        return Record(card with { Weights = card.Weights.SetItem(i, card.Weights[i] * factor) }, $"scale {feature}*{F(factor)} (was {F(card.Weights[i])})");
    }

    /// <summary>Sets the weight of <paramref name="feature"/> to zero (it stops counting).</summary>
    public static ObjectiveCard ZeroWeight(this ObjectiveCard card, string feature)
    {
        var i = card.RequireWeightIndex(feature);
        return Record(card with { Weights = card.Weights.SetItem(i, 0.0) }, $"zero {feature} (was {F(card.Weights[i])})");
    }

    /// <summary>Adds the hinge penalty −weight·max(0, φ − above) on <paramref name="term"/>.Feature.</summary>
    public static ObjectiveCard AddPenalty(this ObjectiveCard card, PenaltyTerm term)
    {
        if (card.Features.IndexOf(term.Feature) < 0)
        {
            throw new TelosInputException($"--penalty: unknown feature '{term.Feature}'; known features: {string.Join(", ", card.Features)}");
        }
        if (!double.IsFinite(term.Weight) || !double.IsFinite(term.Above))
        {
            throw new TelosInputException($"--penalty {term.Feature}: weight and threshold must be finite numbers");
        }
        return Record(card with { Penalties = card.Penalties.Add(term) }, $"penalty {term.Feature}: -{F(term.Weight)}*max(0, {term.Feature}-{F(term.Above)})");
    }

    /// <summary>Freezes named weights (training keeps them), or the whole card when <paramref name="features"/> is empty.</summary>
    public static ObjectiveCard Freeze(this ObjectiveCard card, params string[] features)
    {
        if (features.Length == 0)
        {
            return Record(card with { Frozen = true }, "freeze all");
        }
        foreach (var f in features)
        {
            card.RequireWeightIndex(f);
        }
        var frozen = card.FrozenFeatures.Union(features, StringComparer.Ordinal).ToArray();
        return Record(card with { FrozenFeatures = [.. frozen] }, $"freeze {string.Join(",", features)}");
    }

    /// <summary>
    /// Applies an edit given as text, as the CLI takes it: <c>set NAME=V</c>, <c>scale NAME=K</c>,
    /// <c>zero NAME</c>, <c>penalty NAME=W[@ABOVE]</c>, <c>freeze NAME|all</c>.
    /// </summary>
    public static ObjectiveCard Apply(this ObjectiveCard card, string verb, string argument)
    {
        switch (verb)
        {
            case "set":
            {
                var (name, value) = Assignment(verb, argument);
                return card.SetWeight(name, value);
            }
            case "scale":
            {
                var (name, value) = Assignment(verb, argument);
                return card.ScaleWeight(name, value);
            }
            case "zero":
                return card.ZeroWeight(argument);
            case "penalty":
            {
                var at = argument.IndexOf('@');
                var (name, weight) = Assignment(verb, at < 0 ? argument : argument[..at]);
                var above = at < 0 ? 0.0 : ParseNumber(verb, argument[(at + 1)..]);
                return card.AddPenalty(new PenaltyTerm(name, weight, above));
            }
            case "freeze":
                return argument == "all" ? card.Freeze() : card.Freeze(argument.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            default:
                throw new TelosInputException($"unknown edit '{verb}'; expected set, scale, zero, penalty or freeze");
        }
    }

    private static (string Name, double Value) Assignment(string verb, string argument)
    {
        var eq = argument.IndexOf('=');
        if (eq <= 0)
        {
            throw new TelosInputException($"--{verb} '{argument}': expected NAME=NUMBER");
        }
        return (argument[..eq].Trim(), ParseNumber(verb, argument[(eq + 1)..]));
    }

    private static double ParseNumber(string verb, string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v
            : throw new TelosInputException($"--{verb}: '{text}' is not a finite number");

    private static ObjectiveCard Record(ObjectiveCard card, string line)
    {
        var edited = card with { Revision = card.Revision + 1, History = card.History.Add(line) };
        edited.Validate("edited card");
        return edited;
    }

    internal static string F(double x) => x.ToString("G6", CultureInfo.InvariantCulture);
}
