namespace Telos.Lab.Configuration;

/// <summary>The config hash runs are indexed by.</summary>
public static class TomlHash
{
    /// <summary>First 16 hex digits of SHA-256 over the UTF-8 text; equals <see cref="ConfigTable.Hash"/> of the config that produced it.</summary>
    public static string Of(string resolvedToml) => TomlText.Hash(resolvedToml);
}
