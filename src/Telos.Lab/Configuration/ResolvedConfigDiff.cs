namespace Telos.Lab.Configuration;

/// <summary>The keys that differ between two resolved configs (<see cref="ConfigTable.ToResolvedToml"/> text: one <c>key = value</c> line per setting under <c>[table]</c> headers).</summary>
public static class ResolvedConfigDiff
{
    /// <summary>
    /// Every dotted key whose value differs, in the order of <paramref name="before"/> then keys only
    /// <paramref name="after"/> has, each as <c>key: OLD → NEW</c> (<c>(absent)</c> for a missing side).
    /// </summary>
    public static IReadOnlyList<string> Keys(string before, string after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var old = Settings(before);
        var current = Settings(after);
        var differing = new List<string>();
        foreach (var (key, value) in old)
        {
            var now = current.FirstOrDefault(c => c.Key == key).Value;
            if (now != value)
            {
                differing.Add($"{key}: {value} → {now ?? "(absent)"}");
            }
        }
        foreach (var (key, value) in current)
        {
            if (!old.Any(o => o.Key == key))
            {
                differing.Add($"{key}: (absent) → {value}");
            }
        }
        return differing;
    }

    private static List<KeyValuePair<string, string>> Settings(string resolved)
    {
        var settings = new List<KeyValuePair<string, string>>();
        var table = "";
        foreach (var raw in resolved.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                table = line[1..^1] + ".";
                continue;
            }
            var equals = line.IndexOf(" = ", StringComparison.Ordinal);
            if (equals > 0)
            {
                settings.Add(new(table + line[..equals], line[(equals + 3)..]));
            }
        }
        return settings;
    }
}
