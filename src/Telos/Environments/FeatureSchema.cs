namespace Telos.Environments;

/// <summary>
/// The ordered, named scalar features an environment writes for a state. Objectives bind to a
/// schema by names, so a card whose features do not match an environment can be refused with a
/// clear message instead of silently reading the wrong column.
/// </summary>
public sealed class FeatureSchema : IEquatable<FeatureSchema>
{
    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;

    /// <exception cref="ArgumentException">A name is empty or repeated.</exception>
    public FeatureSchema(IEnumerable<string> names)
    {
        _names = names.ToArray();
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _names.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(_names[i]))
            {
                throw new ArgumentException($"feature {i} has an empty name", nameof(names));
            }
            if (!_index.TryAdd(_names[i], i))
            {
                throw new ArgumentException($"feature '{_names[i]}' is named twice", nameof(names));
            }
        }
    }

    /// <summary>Number of features, F.</summary>
    public int Count => _names.Length;

    /// <summary>Feature names in column order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The column of <paramref name="name"/>, or −1.</summary>
    public int IndexOf(string name) => _index.TryGetValue(name, out var i) ? i : -1;

    /// <summary>The column of <paramref name="name"/>.</summary>
    /// <exception cref="TelosInputException">No such feature; the message lists the known ones.</exception>
    public int Require(string name)
    {
        var i = IndexOf(name);
        if (i < 0)
        {
            throw new TelosInputException($"unknown feature '{name}'; known features: {string.Join(", ", _names)}");
        }
        return i;
    }

    public bool Equals(FeatureSchema? other) => other is not null && _names.AsSpan().SequenceEqual(other._names);

    public override bool Equals(object? obj) => Equals(obj as FeatureSchema);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var name in _names)
        {
            hash.Add(name, StringComparer.Ordinal);
        }
        return hash.ToHashCode();
    }

    public override string ToString() => string.Join(",", _names);
}
