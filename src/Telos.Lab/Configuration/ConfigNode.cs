namespace Telos.Lab.Configuration;

/// <summary>One value of a parsed config with the 1-based line it came from (0 when set on the command line).</summary>
internal abstract class ConfigNode
{
    protected ConfigNode(int line) => Line = line;

    public int Line { get; }

    /// <summary>Set when a getter has read the value (or, for tables, when the table was opened).</summary>
    public bool Used { get; set; }

    /// <summary>The TOML type name used in error messages ("integer", "float", "table", ...).</summary>
    public abstract string TypeName { get; }
}

/// <summary>A string, integer (<see cref="long"/>), float (<see cref="double"/>), boolean or date-time (kept as text).</summary>
internal sealed class ConfigScalar : ConfigNode
{
    public ConfigScalar(object value, string typeName, int line)
        : base(line)
    {
        Value = value;
        TypeName = typeName;
    }

    public object Value { get; }

    public override string TypeName { get; }

    /// <summary>The same value, reported at <paramref name="line"/>.</summary>
    public ConfigScalar At(int line) => new(Value, TypeName, line);
}

internal sealed class ConfigArray : ConfigNode
{
    public ConfigArray(List<ConfigNode> items, int line)
        : base(line) => Items = items;

    public List<ConfigNode> Items { get; }

    public override string TypeName => "array";
}

internal sealed class ConfigTableNode : ConfigNode
{
    public ConfigTableNode(int line)
        : base(line)
    {
    }

    /// <summary>Entries in source order.</summary>
    public List<KeyValuePair<string, ConfigNode>> Entries { get; } = [];

    public override string TypeName => "table";

    public ConfigNode? Find(string key)
    {
        foreach (var entry in Entries)
        {
            if (entry.Key == key)
            {
                return entry.Value;
            }
        }
        return null;
    }

    public void Set(string key, ConfigNode value)
    {
        for (var i = 0; i < Entries.Count; i++)
        {
            if (Entries[i].Key == key)
            {
                Entries[i] = new(key, value);
                return;
            }
        }
        Entries.Add(new(key, value));
    }
}
