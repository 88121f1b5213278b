using System.Globalization;

namespace Telos.Lab.Configuration;

/// <summary>
/// A table of a parsed TOML config (the whole file, or a sub-table such as <c>[model]</c>) with typed,
/// validating getters. Every getter records that its key was read and the value it resolved to
/// (the given one or the default), so that <see cref="EnsureAllKeysUsed"/> can reject unknown keys and
/// <see cref="ToResolvedToml"/> can write the full config a run actually used.
/// </summary>
/// <remarks>
/// Errors are <see cref="TelosInputException"/>s with one line: <c>FILE:LINE: key 'a.b': expected integer in [1, 1000], got 0</c>.
/// Integers are accepted where floats are expected; floats are never truncated to integers.
/// Not thread-safe: read a config on one thread, before the work starts.
/// </remarks>
public sealed class ConfigTable
{
    private readonly ConfigDocument _document;
    private readonly ConfigTableNode _node;
    private readonly string _tomlPath;

    internal ConfigTable(ConfigDocument document, ConfigTableNode node, string path, string? tomlPath = null)
    {
        _document = document;
        _node = node;
        Path = path;
        _tomlPath = tomlPath ?? path;
    }

    /// <summary>The file name errors are reported against.</summary>
    public string SourceName => _document.SourceName;

    /// <summary>Dotted path of this table from the root; empty for the root.</summary>
    public string Path { get; }

    /// <summary>Keys present in this table, in source order.</summary>
    public IEnumerable<string> Keys => _node.Entries.Select(e => e.Key);

    /// <summary>Whether the config gives <paramref name="key"/> in this table.</summary>
    public bool Contains(string key) => _node.Find(key) is not null;

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="defaultValue"/> when absent.</summary>
    public int GetInt(string key, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        var value = Scalar(key) is { } node ? (int)ReadLong(key, node, min, max, int.MinValue, int.MaxValue) : defaultValue;
        _document.Record(_tomlPath, key, TomlText.Long(value));
        return value;
    }

    /// <summary>A 64-bit integer in [<paramref name="min"/>, <paramref name="max"/>], or <paramref name="defaultValue"/> when absent.</summary>
    public long GetLong(string key, long defaultValue, long min = long.MinValue, long max = long.MaxValue)
    {
        var value = Scalar(key) is { } node ? ReadLong(key, node, min, max, long.MinValue, long.MaxValue) : defaultValue;
        _document.Record(_tomlPath, key, TomlText.Long(value));
        return value;
    }

    /// <summary>A float in [<paramref name="min"/>, <paramref name="max"/>] (integers accepted), or <paramref name="defaultValue"/> when absent. NaN is rejected.</summary>
    public double GetDouble(string key, double defaultValue, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        var value = Scalar(key) is { } node ? ReadDouble(key, node, min, max) : defaultValue;
        _document.Record(_tomlPath, key, TomlText.Double(value));
        return value;
    }

    /// <summary>A boolean, or <paramref name="defaultValue"/> when absent.</summary>
    public bool GetBool(string key, bool defaultValue)
    {
        var value = defaultValue;
        if (Scalar(key) is { } node)
        {
            value = node.Value is bool b ? b : throw TypeError(key, node, "boolean (true or false)");
        }
        _document.Record(_tomlPath, key, TomlText.Bool(value));
        return value;
    }

    /// <summary>A string, one of <paramref name="allowed"/> when given (ordinal comparison), or <paramref name="defaultValue"/> when absent.</summary>
    public string GetString(string key, string defaultValue, IReadOnlyCollection<string>? allowed = null)
    {
        var value = Scalar(key) is { } node ? ReadString(key, node, allowed) : defaultValue;
        _document.Record(_tomlPath, key, TomlText.String(value));
        return value;
    }

    /// <summary>A string that must be present, one of <paramref name="allowed"/> when given.</summary>
    public string RequireString(string key, IReadOnlyCollection<string>? allowed = null)
    {
        var node = Scalar(key) ?? throw Error(key, _node.Line, allowed is { Count: > 0 } ? $"missing; expected one of {Quoted(allowed)}" : "missing; expected a string");
        var value = ReadString(key, node, allowed);
        _document.Record(_tomlPath, key, TomlText.String(value));
        return value;
    }

    /// <summary>An array of integers, each in [<paramref name="min"/>, <paramref name="max"/>], with [<paramref name="minCount"/>, <paramref name="maxCount"/>] items; <paramref name="defaultValue"/> when absent.</summary>
    public IReadOnlyList<int> GetIntList(string key, IReadOnlyList<int> defaultValue, int min = int.MinValue, int max = int.MaxValue, int minCount = 0, int maxCount = int.MaxValue)
    {
        var value = Array(key, minCount, maxCount) is { } array
            ? array.Items.Select((item, i) => (int)ReadLong($"{key}[{i}]", item, min, max, int.MinValue, int.MaxValue)).ToArray()
            : defaultValue.ToArray();
        _document.Record(_tomlPath, key, TomlText.List(value, v => TomlText.Long(v)));
        return value;
    }

    /// <summary>An array of floats (integers accepted), each in [<paramref name="min"/>, <paramref name="max"/>]; <paramref name="defaultValue"/> when absent.</summary>
    public IReadOnlyList<double> GetDoubleList(string key, IReadOnlyList<double> defaultValue, double min = double.NegativeInfinity, double max = double.PositiveInfinity, int minCount = 0, int maxCount = int.MaxValue)
    {
        var value = Array(key, minCount, maxCount) is { } array
            ? array.Items.Select((item, i) => ReadDouble($"{key}[{i}]", item, min, max)).ToArray()
            : defaultValue.ToArray();
        _document.Record(_tomlPath, key, TomlText.List(value, TomlText.Double));
        return value;
    }

    /// <summary>An array of strings, each one of <paramref name="allowed"/> when given; <paramref name="defaultValue"/> when absent.</summary>
    public IReadOnlyList<string> GetStringList(string key, IReadOnlyList<string> defaultValue, IReadOnlyCollection<string>? allowed = null, int minCount = 0, int maxCount = int.MaxValue)
    {
        var value = Array(key, minCount, maxCount) is { } array
            ? array.Items.Select((item, i) => ReadString($"{key}[{i}]", item, allowed)).ToArray()
            : defaultValue.ToArray();
        _document.Record(_tomlPath, key, TomlText.List(value, TomlText.String));
        return value;
    }

    /// <summary>
    /// An array of single values of any TOML type (the values of a sweep axis), each as its TOML text
    /// (<c>"lstm"</c>, <c>5</c>, <c>0.5</c>, <c>true</c>), with [<paramref name="minCount"/>, <paramref name="maxCount"/>] items, no two equal.
    /// </summary>
    /// <exception cref="TelosInputException">Absent, not an array, an item that is an array or table, or a repeated item.</exception>
    public IReadOnlyList<string> GetValueTexts(string key, int minCount = 1, int maxCount = int.MaxValue)
    {
        var array = Array(key, minCount, maxCount) ?? throw Error(key, _node.Line, "missing; expected an array");
        var texts = new List<string>();
        foreach (var (item, i) in array.Items.Select((item, i) => (item, i)))
        {
            var text = item switch
            {
                ConfigScalar { TypeName: "string", Value: string v } => TomlText.String(v),
                ConfigScalar { Value: long v } => TomlText.Long(v),
                ConfigScalar { Value: double v } => TomlText.Double(v),
                ConfigScalar { Value: bool v } => TomlText.Bool(v),
                _ => throw TypeError($"{key}[{i}]", item, "a single value (string, integer, float or boolean)"),
            };
            if (texts.Contains(text, StringComparer.Ordinal))
            {
                throw Error($"{key}[{i}]", item.Line, $"{text} is listed twice");
            }
            texts.Add(text);
        }
        _document.Record(_tomlPath, key, "[" + string.Join(", ", texts) + "]");
        return texts;
    }

    /// <summary>The sub-table <paramref name="name"/> (<c>[this.name]</c> or an inline table); an empty table when absent.</summary>
    public ConfigTable Table(string name)
    {
        var tomlPath = _tomlPath.Length == 0 ? TomlText.Key(name) : _tomlPath + "." + TomlText.Key(name);
        var path = Path.Length == 0 ? name : Path + "." + name;
        switch (_node.Find(name))
        {
            case null:
                // An absent table reads as empty: every getter falls back to its default.
                return new ConfigTable(_document, new ConfigTableNode(_node.Line), path, tomlPath);
            case ConfigTableNode table:
                table.Used = true;
                return new ConfigTable(_document, table, path, tomlPath);
            case var other:
                throw TypeError(name, other, "table");
        }
    }

    /// <summary>
    /// Replaces <paramref name="key"/> with a value given outside the file (such as <c>--seed</c>);
    /// errors about it then say it was set on the command line.
    /// </summary>
    public void Override(string key, long value) => _node.Set(key, new ConfigScalar(value, "integer", 0));

    /// <inheritdoc cref="Override(string, long)"/>
    public void Override(string key, string value) => _node.Set(key, new ConfigScalar(value, "string", 0));

    /// <summary>
    /// Replaces <paramref name="key"/> of the sub-table <paramref name="table"/> with a value given outside
    /// the file (a flag such as <c>--size</c>), creating the table when the file has none.
    /// </summary>
    /// <exception cref="TelosInputException"><paramref name="table"/> is a value, not a table.</exception>
    public void Override(string table, string key, long value)
    {
        if (_node.Find(table) is not ConfigTableNode node)
        {
            if (_node.Find(table) is { } other)
            {
                throw TypeError(table, other, "table");
            }
            node = new ConfigTableNode(0);
            _node.Set(table, node);
        }
        node.Set(key, new ConfigScalar(value, "integer", 0));
    }

    /// <summary>
    /// Applies a command-line assignment <c>dotted.key=value</c> (<c>telos run --set</c>), the value
    /// written as in TOML: <c>100</c>, <c>0.5</c>, <c>true</c>, <c>"text"</c> (bare text is taken as a
    /// string), <c>[50, 100]</c>. Every table on the path must already exist in the file (a misspelt
    /// table is an error here; a misspelt last key is caught by <see cref="EnsureAllKeysUsed"/>). The
    /// value's type is checked later by the getter that reads it, whose errors then say "(command line)".
    /// </summary>
    /// <exception cref="TelosInputException"><c>--set evaluation.test_problems: ...</c>, one line.</exception>
    public void Assign(string assignment)
    {
        var equals = assignment.IndexOf('=', StringComparison.Ordinal);
        var key = equals > 0 ? assignment[..equals].Trim() : "";
        if (key.Length == 0 || key.Split('.').Any(part => part.Length == 0))
        {
            throw new TelosInputException($"--set '{assignment}': expected KEY=VALUE with a dotted key, e.g. evaluation.test_problems=100");
        }
        var text = assignment[(equals + 1)..].Trim();
        ConfigNode value;
        try
        {
            value = ConfigFile.Parse($"value = {text}", "--set")._node.Find("value")!;
        }
        catch (TelosInputException)
        {
            // Not a TOML value: bare text is a string (--set task.data=mnist).
            value = new ConfigScalar(text, "string", 0);
        }
        if (value is ConfigScalar scalar)
        {
            value = new ConfigScalar(scalar.Value, scalar.TypeName, 0);
        }
        var parts = key.Split('.');
        var node = _node;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            node = node.Find(parts[i]) as ConfigTableNode
                ?? throw new TelosInputException($"--set {key}: {SourceName} has no table [{string.Join('.', parts[..(i + 1)])}]");
        }
        node.Set(parts[^1], value);
    }

    /// <summary>The <paramref name="index"/>-th item of the array <paramref name="key"/> of this table, or null.</summary>
    internal ConfigNode? Item(string key, int index) => _node.Find(key) is ConfigArray array && index < array.Items.Count ? array.Items[index] : null;

    /// <summary>Removes <paramref name="key"/> from this table (nothing when absent).</summary>
    internal void Remove(string key) => _node.Entries.RemoveAll(e => e.Key == key);

    /// <summary>Sets <paramref name="dottedKey"/> (tables on the path are created when absent) to <paramref name="value"/>.</summary>
    /// <exception cref="TelosInputException">A part of the path names a value that is not a table.</exception>
    internal void SetPath(string dottedKey, ConfigNode value)
    {
        var parts = dottedKey.Split('.');
        var node = _node;
        for (var i = 0; i < parts.Length - 1; i++)
        {
            switch (node.Find(parts[i]))
            {
                case ConfigTableNode table:
                    node = table;
                    break;
                case null:
                    var created = new ConfigTableNode(value.Line);
                    node.Set(parts[i], created);
                    node = created;
                    break;
                default:
                    throw new TelosInputException($"{SourceName}: key '{string.Join('.', parts[..(i + 1)])}' is not a table, so '{dottedKey}' cannot be set");
            }
        }
        node.Set(parts[^1], value);
    }

    /// <summary>Throws for the first key (in file order) under this table that no getter read: a misspelt or unsupported setting.</summary>
    /// <exception cref="TelosInputException"><c>FILE:LINE: key 'model.hiden': unknown key (known here: hidden, layers)</c>.</exception>
    public void EnsureAllKeysUsed()
    {
        var unused = new List<(int Line, string Path, string ParentTomlPath)>();
        Collect(_node, Path, _tomlPath, unused);
        if (unused.Count == 0)
        {
            return;
        }
        var (line, path, parent) = unused.OrderBy(u => u.Line).First();
        var known = _document.KeysRead(parent);
        var hint = known.Count > 0 ? $" (known here: {string.Join(", ", known)})" : "";
        throw new TelosInputException($"{Where(line)}: key '{path}': unknown key{hint}");
    }

    /// <summary>The settings read so far, with defaults filled in, as TOML that parses back to the same values.</summary>
    public string ToResolvedToml() => _document.ToResolvedToml();

    /// <summary>A stable 16-hex-digit hash of <see cref="ToResolvedToml"/> (SHA-256 prefix).</summary>
    public string Hash() => TomlText.Hash(ToResolvedToml());

    /// <summary>An input error about <paramref name="key"/> of this table, for checks across settings (e.g. <c>batch_size</c> must divide <c>envs</c>).</summary>
    public TelosInputException Error(string key, string message)
    {
        var line = _node.Find(key)?.Line ?? _node.Line;
        return Error(key, line, message);
    }

    private static void Collect(ConfigTableNode table, string path, string tomlPath, List<(int, string, string)> unused)
    {
        foreach (var (key, node) in table.Entries)
        {
            var keyPath = path.Length == 0 ? key : path + "." + key;
            if (node is ConfigTableNode child && child.Used)
            {
                Collect(child, keyPath, tomlPath.Length == 0 ? TomlText.Key(key) : tomlPath + "." + TomlText.Key(key), unused);
            }
            else if (!node.Used)
            {
                unused.Add((node is ConfigTableNode empty && empty.Entries.Count > 0 ? empty.Entries.Min(e => e.Value.Line) : node.Line, keyPath, tomlPath));
            }
        }
    }

    private ConfigScalar? Scalar(string key)
    {
        switch (_node.Find(key))
        {
            case null:
                return null;
            case ConfigScalar scalar:
                scalar.Used = true;
                return scalar;
            case var other:
                other.Used = true;
                throw TypeError(key, other, "a single value");
        }
    }

    private ConfigArray? Array(string key, int minCount, int maxCount)
    {
        switch (_node.Find(key))
        {
            case null:
                return null;
            case ConfigArray array:
                array.Used = true;
                if (array.Items.Count < minCount || array.Items.Count > maxCount)
                {
                    throw Error(key, array.Line, $"expected an array of {CountRange(minCount, maxCount)} items, got {array.Items.Count}");
                }
                return array;
            case var other:
                other.Used = true;
                throw TypeError(key, other, "an array");
        }
    }

    private long ReadLong(string key, ConfigNode node, long min, long max, long lowest, long highest)
    {
        if (node is not ConfigScalar { Value: long value })
        {
            throw TypeError(key, node, "integer" + RangeSuffix(min, max, lowest, highest));
        }
        if (value < min || value > max)
        {
            throw Error(key, node.Line, $"expected integer{RangeSuffix(min, max, lowest, highest)}, got {value.ToString(CultureInfo.InvariantCulture)}");
        }
        return value;
    }

    private double ReadDouble(string key, ConfigNode node, double min, double max)
    {
        var value = node switch
        {
            ConfigScalar { Value: double d } => d,
            ConfigScalar { Value: long l } => l,
            _ => throw TypeError(key, node, "float" + RangeSuffix(min, max, double.NegativeInfinity, double.PositiveInfinity)),
        };
        if (double.IsNaN(value) || value < min || value > max)
        {
            throw Error(key, node.Line, $"expected float{RangeSuffix(min, max, double.NegativeInfinity, double.PositiveInfinity)}, got {TomlText.Double(value)}");
        }
        return value;
    }

    private string ReadString(string key, ConfigNode node, IReadOnlyCollection<string>? allowed)
    {
        if (node is not ConfigScalar { Value: string value, TypeName: "string" })
        {
            throw TypeError(key, node, allowed is { Count: > 0 } ? $"one of {Quoted(allowed)}" : "string");
        }
        if (allowed is { Count: > 0 } && !allowed.Contains(value, StringComparer.Ordinal))
        {
            throw Error(key, node.Line, $"expected one of {Quoted(allowed)}, got \"{value}\"");
        }
        return value;
    }

    private TelosInputException TypeError(string key, ConfigNode node, string expected)
    {
        var got = node switch
        {
            ConfigScalar { TypeName: "string" } s => $"string \"{s.Value}\"",
            ConfigScalar { Value: double d } => $"float {TomlText.Double(d)}",
            ConfigScalar { Value: long l } => $"integer {l.ToString(CultureInfo.InvariantCulture)}",
            ConfigScalar { Value: bool b } => $"boolean {TomlText.Bool(b)}",
            ConfigScalar s => $"{s.TypeName} {s.Value}",
            _ => node.TypeName,
        };
        return Error(key, node.Line, $"expected {expected}, got {got}");
    }

    private TelosInputException Error(string key, int line, string message)
    {
        var path = Path.Length == 0 ? key : Path + "." + key;
        return new TelosInputException($"{Where(line)}: key '{path}': {message}");
    }

    private string Where(int line) => line > 0 ? $"{SourceName}:{line}" : $"{SourceName} (command line)";

    private static string RangeSuffix<T>(T min, T max, T lowest, T highest)
        where T : IComparable<T> => min.CompareTo(lowest) == 0 && max.CompareTo(highest) == 0 ? "" : " " + Range(min, max, lowest, highest);

    private static string Range<T>(T min, T max, T lowest, T highest)
        where T : notnull => (Equals(min, lowest), Equals(max, highest)) switch
        {
            (false, true) => $">= {Format(min)}",
            (true, false) => $"<= {Format(max)}",
            _ => $"in [{Format(min)}, {Format(max)}]",
        };

    private static string CountRange(int minCount, int maxCount) =>
        (minCount == 0, maxCount == int.MaxValue) switch
        {
            (false, true) => $"at least {minCount}",
            (true, false) => $"at most {maxCount}",
            (true, true) => "any number of",
            _ => minCount == maxCount ? $"exactly {minCount}" : $"{minCount} to {maxCount}",
        };

    private static string Format<T>(T value) => value switch
    {
        double d => TomlText.Double(d),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value?.ToString() ?? "",
    };

    private static string Quoted(IEnumerable<string> values) => string.Join(", ", values.Select(v => $"\"{v}\""));
}
