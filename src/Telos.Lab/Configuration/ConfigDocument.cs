using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Tomlyn.Syntax;

namespace Telos.Lab.Configuration;

/// <summary>State shared by every <see cref="ConfigTable"/> view of one parsed file: its source and the resolved values read so far.</summary>
internal sealed class ConfigDocument
{
    private readonly List<string> _tableOrder = [""];
    private readonly Dictionary<string, List<KeyValuePair<string, string>>> _resolved = new(StringComparer.Ordinal) { [""] = [] };

    public ConfigDocument(string sourceName, ConfigTableNode root)
    {
        SourceName = sourceName;
        Root = root;
    }

    public string SourceName { get; }

    public ConfigTableNode Root { get; }

    /// <summary>Records the value a getter resolved (given or default) under its table, in first-read order.</summary>
    public void Record(string tablePath, string key, string tomlValue)
    {
        if (!_resolved.TryGetValue(tablePath, out var entries))
        {
            entries = [];
            _resolved[tablePath] = entries;
            _tableOrder.Add(tablePath);
        }
        var index = entries.FindIndex(e => e.Key == key);
        if (index >= 0)
        {
            entries[index] = new(key, tomlValue);
        }
        else
        {
            entries.Add(new(key, tomlValue));
        }
    }

    /// <summary>Keys the getters asked for in the table at <paramref name="tablePath"/>, in first-read order.</summary>
    public IReadOnlyList<string> KeysRead(string tablePath) =>
        _resolved.TryGetValue(tablePath, out var entries) ? entries.Select(e => e.Key).ToList() : [];

    public string ToResolvedToml()
    {
        var text = new StringBuilder();
        text.Append("# Resolved config: every setting the experiment read, with defaults filled in.\n");
        foreach (var table in _tableOrder)
        {
            var entries = _resolved[table];
            if (entries.Count == 0)
            {
                continue;
            }
            if (table.Length > 0)
            {
                text.Append('\n').Append('[').Append(table).Append("]\n");
            }
            foreach (var (key, value) in entries)
            {
                text.Append(TomlText.Key(key)).Append(" = ").Append(value).Append('\n');
            }
        }
        return text.ToString();
    }
}

/// <summary>TOML spellings of keys and values, so the resolved config parses back to the same values.</summary>
internal static class TomlText
{
    public static string Key(string key) => BareKeySyntax.IsBareKey(key) ? key : String(key);

    public static string Long(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Double(double value)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }
        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        // TOML floats need a '.' or exponent; "1E-05" is fine, "3" is not.
        return text.Contains('.', StringComparison.Ordinal) || text.Contains('E', StringComparison.Ordinal) ? text.Replace("E", "e", StringComparison.Ordinal) : text + ".0";
    }

    public static string Bool(bool value) => value ? "true" : "false";

    public static string String(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            _ = c switch
            {
                '"' => text.Append("\\\""),
                '\\' => text.Append("\\\\"),
                '\n' => text.Append("\\n"),
                '\r' => text.Append("\\r"),
                '\t' => text.Append("\\t"),
                _ when char.IsControl(c) => text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}"),
                _ => text.Append(c),
            };
        }
        return text.Append('"').ToString();
    }

    public static string List<T>(IEnumerable<T> items, Func<T, string> format) => "[" + string.Join(", ", items.Select(format)) + "]";

    /// <summary>First 16 hex digits of the SHA-256 of the UTF-8 text.</summary>
    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}
