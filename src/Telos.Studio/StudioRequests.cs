using System.Globalization;
using System.Text.Json;

namespace Telos.Studio;

/// <summary>How much one request may ask for, so that no request can hang the server.</summary>
public static class StudioLimits
{
    /// <summary>Level seeds are 0 ≤ seed ≤ this.</summary>
    public const long MaxSeed = int.MaxValue;

    /// <summary>Most levels the batch view evaluates per request.</summary>
    public const int MaxBatchLevels = 200;

    /// <summary>Most labelled cells a regression takes.</summary>
    public const int MaxLabels = 32;

    /// <summary>Weights, factors, thresholds and labels are finite numbers of at most this magnitude.</summary>
    public const double MaxMagnitude = 1e6;

    /// <summary>Largest request body, in bytes.</summary>
    public const int MaxRequestBytes = 64 * 1024;

    /// <summary>Levels of each distribution EPIC samples transitions from.</summary>
    public const int EpicLevels = 8;

    /// <summary>Random-walk transitions per level in EPIC's sample.</summary>
    public const int EpicTransitionsPerLevel = 100;

    /// <summary>Gradient steps of a goal regression.</summary>
    public const int RegressionSteps = 300;
}

/// <summary>Pick a level: a registered distribution, its parameters (absent ones take their defaults), a seed, a planner and the batch size.</summary>
/// <param name="Distribution">e.g. <c>maze/test</c>.</param>
/// <param name="Seed">Level seed, 0..<see cref="StudioLimits.MaxSeed"/>.</param>
/// <param name="Parameters">Parameter values by name (the family checks names and ranges).</param>
/// <param name="Planner">A planner name (<c>bfs</c>, …); null keeps the current one.</param>
/// <param name="BatchLevels">Levels of the batch view, 1..<see cref="StudioLimits.MaxBatchLevels"/>; null keeps the current number.</param>
public sealed record LevelRequest(string? Distribution, long Seed, Dictionary<string, int>? Parameters = null, string? Planner = null, int? BatchLevels = null);

/// <summary>One edit of the card: <c>set</c>, <c>scale</c>, <c>zero</c>, <c>penalty</c> or <c>freeze</c>.</summary>
/// <param name="Op">The edit.</param>
/// <param name="Feature">The feature it acts on (<c>freeze</c>: a feature or <c>all</c>).</param>
/// <param name="Value">set: the weight; scale: the factor; penalty: its weight. A JSON number or the text a user typed.</param>
/// <param name="Above">penalty: the threshold (default 0).</param>
public sealed record EditRequest(string? Op, string? Feature, JsonElement Value = default, JsonElement Above = default);

/// <summary>Load a reference objective of the current family (its card widened to every feature of the family).</summary>
/// <param name="Name">A reference's name: <c>true</c>, <c>corner</c>, …</param>
public sealed record ObjectiveRequest(string? Name);

/// <summary>Name the reference EPIC measures against.</summary>
/// <param name="Name">A reference's name of the current family.</param>
public sealed record ReferenceRequest(string? Name);

/// <summary>Label cell (x, y) of the current level "worth <paramref name="Value"/>" (procgen coordinates: x from the left, y from the bottom).</summary>
public sealed record LabelRequest(int X, int Y, JsonElement Value = default);

/// <summary>Regress the card toward the labels, keeping other states' values with weight <paramref name="Anchor"/> (default 1).</summary>
public sealed record RegressRequest(JsonElement Anchor = default);

/// <summary>Save the current card as <c>NAME.json</c> in the studio's save folder; an existing file is replaced only with <paramref name="Overwrite"/>.</summary>
public sealed record SaveRequest(string? Name, bool Overwrite = false);

/// <summary>Load a trained PPO policy from the run store: a run (its newest checkpoint) or one checkpoint file; exactly one of the two.</summary>
/// <param name="Run">A <c>ppo</c> run's id, short id or a unique prefix of either.</param>
/// <param name="Checkpoint">A checkpoint of a <c>ppo</c> run in the store (<c>step-N.safetensors</c> or its <c>.json</c> sidecar), as <c>GET /api/runs</c> lists it: relative to the store or absolute. Nothing else is opened.</param>
public sealed record PolicyRequest(string? Run = null, string? Checkpoint = null);

/// <summary>
/// The handle on the loaded policy: <c>steer</c> (add Coefficient × the cheese vector of the current
/// level at Point), <c>clamp</c> (set Channel of Point at cell (X, Y) to Value at every step), or
/// <c>none</c> (remove it).
/// </summary>
/// <param name="Kind"><c>steer</c>, <c>clamp</c> or <c>none</c>.</param>
/// <param name="Point">A hook point of the policy (<c>encoder.conv1</c>, …); clamps need a spatial one.</param>
/// <param name="Coefficient">steer: the cheese vector's coefficient (default −1: subtract the cheese, Turner et al.).</param>
/// <param name="Channel">clamp: the channel, 0..C−1.</param>
/// <param name="X">clamp: the cell's x (from the left).</param>
/// <param name="Y">clamp: the cell's y (from the bottom).</param>
/// <param name="Value">clamp: the value (default 5.5, Turner et al.).</param>
public sealed record HandleRequest(string? Kind, string? Point = null, JsonElement Coefficient = default, int? Channel = null, int? X = null, int? Y = null, JsonElement Value = default);

/// <summary>Reading numbers from requests: a JSON number or its text, finite and bounded.</summary>
public static class StudioNumbers
{
    /// <summary>The finite number in <paramref name="element"/> (a JSON number or a string such as "2.5").</summary>
    /// <param name="element">The value as sent.</param>
    /// <param name="field">The field's name, for the message.</param>
    /// <param name="fallback">The value when the field is absent or null; null makes it required.</param>
    /// <exception cref="TelosInputException">Missing (without a fallback), not a number, not finite (NaN, Infinity, 1e400), or larger than <see cref="StudioLimits.MaxMagnitude"/>.</exception>
    public static double Finite(JsonElement element, string field, double? fallback = null)
    {
        string text;
        switch (element.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return fallback ?? throw new TelosInputException($"{field}: a number is required");
            case JsonValueKind.Number:
                text = element.GetRawText();
                break;
            case JsonValueKind.String:
                text = element.GetString()!.Trim();
                break;
            default:
                throw new TelosInputException($"{field}: expected a number, got {element.ValueKind.ToString().ToLowerInvariant()}");
        }
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw new TelosInputException($"{field}: '{Short(text)}' is not a number");
        }
        if (!double.IsFinite(value))
        {
            throw new TelosInputException($"{field}: '{Short(text)}' is not a finite number");
        }
        if (Math.Abs(value) > StudioLimits.MaxMagnitude)
        {
            throw new TelosInputException($"{field}: {Short(text)} is larger in magnitude than {StudioLimits.MaxMagnitude.ToString(CultureInfo.InvariantCulture)}");
        }
        return value;
    }

    private static string Short(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
