using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Telos.Agents;

namespace Telos.Lab.Runs;

/// <summary>One named result of a run: a number, or a rate (count of levels out of levels) with its 95 % Wilson interval.</summary>
/// <param name="Name">The result's name (<c>maze/test/success</c>); unique within a run.</param>
/// <param name="Value">The number (for a rate, count / of).</param>
/// <param name="Rate">The rate it came from, or null for a plain number.</param>
public sealed record RunResult(string Name, double Value, Rate? Rate);

/// <summary>
/// A run's declared results, <c>results.json</c>: the small set of numbers a sweep merges across seeds
/// (<c>{"format": "telos-results/1", "results": [{"name", "value"[, "count", "of"]}]}</c>, in the order added).
/// Results must not depend on wall-clock time or on the machine: a rerun of the same config and seed writes the same file.
/// </summary>
public sealed class RunResults
{
    /// <summary>The file name inside a run directory.</summary>
    public const string FileName = "results.json";

    private const string Format = "telos-results/1";
    private readonly List<RunResult> _items = [];

    /// <summary>The results in the order they were added.</summary>
    public IReadOnlyList<RunResult> Items => _items;

    /// <summary>Adds a plain number.</summary>
    /// <exception cref="ArgumentException">The name is empty or already used, or the value is not finite.</exception>
    public RunResults Add(string name, double value)
    {
        Check(name);
        if (!double.IsFinite(value))
        {
            throw new ArgumentException($"result '{name}': {value} is not finite", nameof(value));
        }
        _items.Add(new RunResult(name, value, null));
        return this;
    }

    /// <summary>Adds a rate; merged tables show its Wilson interval beside the interval over seeds.</summary>
    /// <exception cref="ArgumentException">The name is empty or already used.</exception>
    public RunResults Add(string name, Rate rate)
    {
        Check(name);
        _items.Add(new RunResult(name, rate.Value, rate));
        return this;
    }

    /// <summary>The last value of every metric in <paramref name="rows"/> (the default results of an experiment that declares none), metrics by name.</summary>
    public static RunResults FromLastMetrics(IReadOnlyList<MetricsRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var results = new RunResults();
        var last = new SortedDictionary<string, double>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            foreach (var (name, value) in row.Values)
            {
                if (double.IsFinite(value))
                {
                    last[name] = value;
                }
            }
        }
        foreach (var (name, value) in last)
        {
            results.Add(name, value);
        }
        return results;
    }

    /// <summary>The file's text: one result per line, numbers in round-trip form.</summary>
    public string ToJson()
    {
        var text = new StringBuilder();
        text.Append("{\"format\": \"").Append(Format).Append("\", \"results\": [");
        for (var i = 0; i < _items.Count; i++)
        {
            var item = _items[i];
            text.Append(i == 0 ? "\n" : ",\n").Append("  {\"name\": ").Append(JsonSerializer.Serialize(item.Name))
                .Append(", \"value\": ").Append(item.Value.ToString("R", CultureInfo.InvariantCulture));
            if (item.Rate is { } rate)
            {
                text.Append(CultureInfo.InvariantCulture, $", \"count\": {rate.Count}, \"of\": {rate.Of}");
            }
            text.Append('}');
        }
        text.Append("\n]}\n");
        return text.ToString();
    }

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="TelosInputException">One line naming the file: missing, not JSON, wrong types, duplicate names.</exception>
    public static RunResults Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new TelosInputException($"{path}: missing");
        }
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new TelosInputException($"{path}: expected a JSON object");
            if (json["format"]?.GetValueKind() != JsonValueKind.String || (string?)json["format"] != Format)
            {
                throw new TelosInputException($"{path}: format is not \"{Format}\"");
            }
            var results = new RunResults();
            var items = json["results"] as JsonArray ?? throw new TelosInputException($"{path}: 'results' must be an array");
            foreach (var (node, i) in items.Select((n, i) => (n as JsonObject, i)))
            {
                if (node?["name"] is not JsonValue name || name.GetValueKind() != JsonValueKind.String || node["value"] is not JsonValue value || value.GetValueKind() != JsonValueKind.Number)
                {
                    throw new TelosInputException($"{path}: results[{i}] needs a string 'name' and a number 'value'");
                }
                var text = name.GetValue<string>();
                if (node["count"] is JsonValue count && node["of"] is JsonValue of)
                {
                    var rate = new Rate(count.GetValue<int>(), of.GetValue<int>());
                    if (rate.Count < 0 || rate.Count > rate.Of)
                    {
                        throw new TelosInputException($"{path}: results[{i}]: count {rate.Count} not in [0, of = {rate.Of}]");
                    }
                    results.Add(text, rate);
                }
                else
                {
                    results.Add(text, value.GetValue<double>());
                }
            }
            return results;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            throw new TelosInputException($"{path}: unreadable results: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    private void Check(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("result name is empty", nameof(name));
        }
        if (_items.Exists(i => i.Name == name))
        {
            throw new ArgumentException($"result '{name}' added twice", nameof(name));
        }
    }
}
