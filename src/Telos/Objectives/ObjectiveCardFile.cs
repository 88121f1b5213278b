using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Telos.Environments;
using Telos.IO;

namespace Telos.Objectives;

/// <summary>
/// Card JSON: readable, named weights as <c>{"feature": weight}</c> objects in column order.
/// Saving is atomic; loading validates everything and throws one <see cref="TelosInputException"/>
/// line naming the file and the field at fault (corrupt JSON, missing fields, NaN weights, unknown
/// form, newer format).
/// </summary>
public static class ObjectiveCardFile
{
    /// <summary>Largest hidden width or observation dimension a card may declare (bounds the memory a card can make a loader allocate).</summary>
    public const int MaxWidth = 65_536;

    /// <summary>Serializes <paramref name="card"/> to indented JSON.</summary>
    public static string ToJson(ObjectiveCard card)
    {
        card.Validate("card");
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("telos_objective_card", ObjectiveCard.FormatVersion);
            w.WriteString("form", ObjectiveCard.FormName(card.Form));
            w.WriteNumber("revision", card.Revision);
            w.WriteStartArray("features");
            foreach (var f in card.Features)
            {
                w.WriteStringValue(f);
            }
            w.WriteEndArray();
            if (!card.Weights.IsEmpty)
            {
                WriteNamed(w, "weights", card.Features, card.Weights);
                w.WriteNumber("bias", card.Bias);
            }
            if (card.Form == ObjectiveForm.Sparse)
            {
                w.WriteStartArray("surviving");
                foreach (var f in card.SurvivingFeatures)
                {
                    w.WriteStringValue(f);
                }
                w.WriteEndArray();
            }
            if (!card.Signs.IsEmpty)
            {
                w.WriteStartObject("signs");
                for (var i = 0; i < card.Features.Length; i++)
                {
                    w.WriteNumber(card.Features[i], card.Signs[i]);
                }
                w.WriteEndObject();
            }
            if (card.Form == ObjectiveForm.Shaped)
            {
                WriteNamed(w, "potential", card.Features, card.Potential);
                w.WriteNumber("gamma", card.Gamma);
            }
            w.WriteStartArray("penalties");
            foreach (var p in card.Penalties)
            {
                w.WriteStartObject();
                w.WriteString("feature", p.Feature);
                w.WriteNumber("weight", p.Weight);
                w.WriteNumber("above", p.Above);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteBoolean("frozen", card.Frozen);
            w.WriteStartArray("frozen_features");
            foreach (var f in card.FrozenFeatures)
            {
                w.WriteStringValue(f);
            }
            w.WriteEndArray();
            if (card.Network is { } net)
            {
                w.WriteStartObject("network");
                w.WriteString("input", net.Input);
                w.WriteStartArray("hidden");
                foreach (var h in net.Hidden)
                {
                    w.WriteNumberValue(h);
                }
                w.WriteEndArray();
                if (net.Observation is { } o)
                {
                    w.WriteStartArray("observation");
                    w.WriteNumberValue(o.Channels);
                    w.WriteNumberValue(o.Height);
                    w.WriteNumberValue(o.Width);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            if (card.WeightsFile is not null)
            {
                w.WriteString("weights_file", card.WeightsFile);
                w.WriteString("weights_sha256", card.WeightsSha256 ?? "");
            }
            w.WriteStartObject("provenance");
            w.WriteString("signal", card.Provenance.Signal);
            w.WriteString("on", card.Provenance.On);
            w.WriteString("data_hash", card.Provenance.DataHash);
            w.WriteNumber("training_steps", card.Provenance.TrainingSteps);
            w.WriteNumber("seed", card.Provenance.Seed);
            w.WriteStartObject("fit");
            foreach (var (k, v) in card.Provenance.Fit)
            {
                w.WriteNumber(k, v);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartArray("history");
            foreach (var h in card.History)
            {
                w.WriteStringValue(h);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>Atomically writes the card JSON to <paramref name="path"/>.</summary>
    public static void Save(ObjectiveCard card, string path) => AtomicFile.WriteAllText(path, ToJson(card));

    /// <summary>Reads and validates a card.</summary>
    /// <exception cref="TelosInputException">Missing file, corrupt JSON, or an invalid field; the message names the file and field.</exception>
    public static ObjectiveCard Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new TelosInputException($"objective card '{path}' does not exist");
        }
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TelosInputException($"objective card '{path}' cannot be read: {FirstLine(e.Message)}");
        }
        return Parse(text, $"objective card '{path}'");
    }

    /// <summary>Parses card JSON; <paramref name="source"/> names it in error messages.</summary>
    public static ObjectiveCard Parse(string json, string source = "objective card")
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new TelosInputException($"{source} is not valid JSON (line {e.LineNumber + 1}): {FirstLine(e.Message)}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new TelosInputException($"{source}: expected a JSON object");
            }
            var format = Int(root, "telos_objective_card", source);
            if (format != ObjectiveCard.FormatVersion)
            {
                throw new TelosInputException($"{source}: card format {format} is not supported (this Telos reads format {ObjectiveCard.FormatVersion})");
            }
            var form = ObjectiveCard.ParseForm(Str(root, "form", source), $"{source}: 'form'");
            var features = Strings(root, "features", source);
            var card = new ObjectiveCard
            {
                Form = form,
                Features = features,
                Revision = Int(root, "revision", source, min: 0),
                Weights = root.TryGetProperty("weights", out _) ? Named(root, "weights", features, source) : [],
                Bias = root.TryGetProperty("bias", out _) ? Num(root, "bias", source) : 0.0,
                Signs = root.TryGetProperty("signs", out _) ? Signs(root, features, source) : [],
                Potential = root.TryGetProperty("potential", out _) ? Named(root, "potential", features, source) : [],
                Gamma = root.TryGetProperty("gamma", out _) ? Num(root, "gamma", source) : 0.99,
                Penalties = root.TryGetProperty("penalties", out _)
                    ? [.. Array(root, "penalties", source).Select((p, i) => new PenaltyTerm(Str(p, "feature", $"{source}: penalties[{i}]"), Num(p, "weight", $"{source}: penalties[{i}]"), Num(p, "above", $"{source}: penalties[{i}]")))]
                    : [],
                Frozen = root.TryGetProperty("frozen", out _) && Bool(root, "frozen", source),
                FrozenFeatures = root.TryGetProperty("frozen_features", out _) ? Strings(root, "frozen_features", source) : [],
                Network = root.TryGetProperty("network", out _) ? ParseNetwork(Obj(root, "network", source), $"{source}: network") : null,
                WeightsFile = root.TryGetProperty("weights_file", out _) ? Str(root, "weights_file", source) : null,
                WeightsSha256 = root.TryGetProperty("weights_sha256", out _) ? Str(root, "weights_sha256", source) : null,
                Provenance = ParseProvenance(Obj(root, "provenance", source), $"{source}: provenance"),
                History = root.TryGetProperty("history", out _) ? Strings(root, "history", source) : [],
            };
            card.Validate(source);
            return card;
        }
    }

    /// <summary>
    /// Refuses a card whose features the environment does not write, naming the card, the
    /// environment and the missing features.
    /// </summary>
    /// <exception cref="TelosInputException">Mismatch.</exception>
    public static void RequireFeatures(ObjectiveCard card, FeatureSchema environment, string environmentName, string source)
    {
        var missing = card.Features.Where(f => environment.IndexOf(f) < 0).ToArray();
        if (missing.Length > 0)
        {
            throw new TelosInputException(
                $"{source}: features do not match environment '{environmentName}': it has no feature(s) {string.Join(", ", missing)}; it has {string.Join(", ", environment.Names)}");
        }
    }

    private static void WriteNamed(Utf8JsonWriter w, string name, ImmutableArray<string> features, ImmutableArray<double> values)
    {
        w.WriteStartObject(name);
        for (var i = 0; i < features.Length; i++)
        {
            w.WriteNumber(features[i], values[i]);
        }
        w.WriteEndObject();
    }

    private static ImmutableArray<double> Named(JsonElement root, string name, ImmutableArray<string> features, string source)
    {
        var obj = Obj(root, name, source);
        var values = new double[features.Length];
        var seen = new bool[features.Length];
        foreach (var p in obj.EnumerateObject())
        {
            var i = features.IndexOf(p.Name);
            if (i < 0)
            {
                throw new TelosInputException($"{source}: '{name}.{p.Name}' is not one of the card's features ({string.Join(", ", features)})");
            }
            if (seen[i])
            {
                throw new TelosInputException($"{source}: '{name}.{p.Name}' appears twice");
            }
            values[i] = Number(p.Value, $"{name}.{p.Name}", source);
            seen[i] = true;
        }
        if (seen.Contains(false))
        {
            var missing = features.Where((_, i) => !seen[i]);
            throw new TelosInputException($"{source}: '{name}' has no value for {string.Join(", ", missing)}");
        }
        return [.. values];
    }

    private static NetworkSpec ParseNetwork(JsonElement e, string source)
    {
        var input = Str(e, "input", source);
        if (input is not ("features" or "observation"))
        {
            throw new TelosInputException($"{source}: 'input' is '{input}'; expected features or observation");
        }
        var hidden = Array(e, "hidden", source).Select((h, i) => PositiveInt(h, MaxWidth) is { } v
            ? v
            : throw new TelosInputException($"{source}: 'hidden[{i}]' must be an integer in [1, {MaxWidth}]")).ToImmutableArray();
        ObservationShape? shape = null;
        if (e.TryGetProperty("observation", out _))
        {
            var dims = Array(e, "observation", source).Select(d => PositiveInt(d, MaxWidth) ?? 0).ToArray();
            if (dims.Length != 3 || dims.Any(d => d == 0))
            {
                throw new TelosInputException($"{source}: 'observation' must be three integers [C, H, W] in [1, {MaxWidth}]");
            }
            shape = new ObservationShape(dims[0], dims[1], dims[2]);
        }
        return new NetworkSpec(input, hidden, shape);
    }

    private static Provenance ParseProvenance(JsonElement e, string source)
    {
        var fit = ImmutableSortedDictionary.CreateBuilder<string, double>(StringComparer.Ordinal);
        foreach (var p in Obj(e, "fit", source).EnumerateObject())
        {
            fit[p.Name] = Number(p.Value, $"fit.{p.Name}", source);
        }
        var steps = Long(e, "training_steps", source);
        if (steps < 0)
        {
            throw new TelosInputException($"{source}: 'training_steps' is {steps}; expected an integer >= 0");
        }
        return new Provenance(Str(e, "signal", source), Str(e, "on", source), Str(e, "data_hash", source), steps, Long(e, "seed", source), fit.ToImmutable());
    }

    private static JsonElement Get(JsonElement e, string name, string source) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) ? v : throw new TelosInputException($"{source}: missing field '{name}'");

    private static JsonElement Obj(JsonElement e, string name, string source) =>
        Get(e, name, source) is { ValueKind: JsonValueKind.Object } v ? v : throw new TelosInputException($"{source}: '{name}' must be an object");

    private static IEnumerable<JsonElement> Array(JsonElement e, string name, string source) =>
        Get(e, name, source) is { ValueKind: JsonValueKind.Array } v ? v.EnumerateArray().ToArray() : throw new TelosInputException($"{source}: '{name}' must be an array");

    private static string Str(JsonElement e, string name, string source) =>
        Get(e, name, source) is { ValueKind: JsonValueKind.String } v ? v.GetString()! : throw new TelosInputException($"{source}: '{name}' must be a string");

    private static int Int(JsonElement e, string name, string source, int min = int.MinValue) =>
        Get(e, name, source) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt32(out var x) && x >= min
            ? x
            : throw new TelosInputException(min == int.MinValue ? $"{source}: '{name}' must be an integer" : $"{source}: '{name}' must be an integer >= {min}");

    private static bool Bool(JsonElement e, string name, string source) => Get(e, name, source).ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new TelosInputException($"{source}: '{name}' must be true or false"),
    };

    private static ImmutableArray<string> Strings(JsonElement e, string name, string source) =>
        [.. Array(e, name, source).Select((item, i) => item.ValueKind == JsonValueKind.String
            ? item.GetString()!
            : throw new TelosInputException($"{source}: '{name}[{i}]' must be a string"))];

    private static ImmutableArray<int> Signs(JsonElement root, ImmutableArray<string> features, string source) =>
        [.. Named(root, "signs", features, source).Select((s, i) => s is -1 or 0 or 1
            ? (int)s
            : throw new TelosInputException($"{source}: 'signs.{features[i]}' is {s.ToString(CultureInfo.InvariantCulture)}; expected -1, 0 or 1"))];

    /// <summary>The element as an int in [1, <paramref name="max"/>], or null when it is anything else.</summary>
    private static int? PositiveInt(JsonElement e, int max) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) && v >= 1 && v <= max ? v : null;

    private static long Long(JsonElement e, string name, string source) =>
        Get(e, name, source) is { ValueKind: JsonValueKind.Number } v && v.TryGetInt64(out var x) ? x : throw new TelosInputException($"{source}: '{name}' must be an integer");

    private static double Num(JsonElement e, string name, string source) => Number(Get(e, name, source), name, source);

    private static double Number(JsonElement v, string field, string source)
    {
        if (v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var named))
        {
            // "NaN" / "Infinity" / "0.5" written as strings: name them rather than call the file corrupt.
            throw new TelosInputException(double.IsFinite(named)
                ? $"{source}: '{field}' is the string \"{v.GetString()}\"; write it as a JSON number"
                : $"{source}: '{field}' is {named}; it must be a finite number");
        }
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var x))
        {
            throw new TelosInputException($"{source}: '{field}' must be a number");
        }
        if (!double.IsFinite(x))
        {
            throw new TelosInputException($"{source}: '{field}' is {x}; it must be a finite number");
        }
        return x;
    }

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
