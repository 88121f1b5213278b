using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace Telos.Lab.Configuration;

/// <summary>
/// Reads TOML configs into a <see cref="ConfigTable"/> whose typed getters validate every value and
/// report errors as one line <c>FILE:LINE: key 'a.b': ...</c>. Syntax errors use the same form.
/// </summary>
public static class ConfigFile
{
    /// <summary>Parses the file at <paramref name="path"/>; the error messages name it as given.</summary>
    /// <exception cref="TelosInputException">The file is missing, unreadable or not valid TOML.</exception>
    public static ConfigTable Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TelosInputException($"{path}: cannot read config: {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses <paramref name="text"/>; <paramref name="sourceName"/> is the file name used in errors.</summary>
    /// <exception cref="TelosInputException">The text is not valid TOML, or uses arrays of tables (<c>[[x]]</c>), which configs do not support.</exception>
    public static ConfigTable Parse(string text, string sourceName)
    {
        DocumentSyntax document;
        try
        {
            document = SyntaxParser.Parse(text, sourceName, validate: true);
        }
        catch (Exception e) when (e is not TelosInputException)
        {
            throw new TelosInputException($"{sourceName}:1: syntax error: {OneLine(e.Message)}", e);
        }
        if (document.HasErrors)
        {
            var first = document.Diagnostics.Where(d => d.Kind == DiagnosticMessageKind.Error)
                .OrderBy(d => d.Span.Start.Offset)
                .First();
            throw new TelosInputException(
                $"{sourceName}:{first.Span.Start.Line + 1}: syntax error: {OneLine(first.Message)} (column {first.Span.Start.Column + 1})");
        }
        var root = new ConfigTableNode(1);
        foreach (var keyValue in document.KeyValues)
        {
            AddKeyValue(root, keyValue, sourceName);
        }
        foreach (var table in document.Tables)
        {
            var line = LineOf(table);
            if (table is TableArraySyntax)
            {
                throw new TelosInputException($"{sourceName}:{line}: arrays of tables ([[{KeyText(table.Name!)}]]) are not supported in configs; use a table or an array");
            }
            var node = OpenTable(root, KeyParts(table.Name!), line);
            foreach (var keyValue in table.Items)
            {
                AddKeyValue(node, keyValue, sourceName);
            }
        }
        return new ConfigTable(new ConfigDocument(sourceName, root), root, "");
    }

    private static void AddKeyValue(ConfigTableNode table, KeyValueSyntax keyValue, string sourceName)
    {
        var line = LineOf(keyValue);
        var parts = KeyParts(keyValue.Key!);
        var target = OpenTable(table, parts.Take(parts.Count - 1).ToList(), line);
        target.Set(parts[^1], Convert(keyValue.Value!, line, sourceName));
    }

    private static ConfigTableNode OpenTable(ConfigTableNode from, IReadOnlyList<string> parts, int line)
    {
        var current = from;
        foreach (var part in parts)
        {
            if (current.Find(part) is ConfigTableNode existing)
            {
                current = existing;
            }
            else
            {
                // The parser's validation already rejected redefinitions, so a missing entry is new.
                var created = new ConfigTableNode(line);
                current.Set(part, created);
                current = created;
            }
        }
        return current;
    }

    private static ConfigNode Convert(ValueSyntax value, int line, string sourceName)
    {
        var valueLine = value is null ? line : Math.Max(line, LineOf(value));
        switch (value)
        {
            case IntegerValueSyntax i:
                return new ConfigScalar(i.Value, "integer", valueLine);
            case FloatValueSyntax f:
                return new ConfigScalar(f.Value, "float", valueLine);
            case BooleanValueSyntax b:
                return new ConfigScalar(b.Value, "boolean", valueLine);
            case StringValueSyntax s:
                return new ConfigScalar(s.Value ?? "", "string", valueLine);
            case DateTimeValueSyntax d:
                return new ConfigScalar(d.Token?.Text ?? d.Value.ToString(), "date-time", valueLine);
            case ArraySyntax a:
                var items = new List<ConfigNode>();
                foreach (var item in a.Items)
                {
                    items.Add(Convert(item.Value!, valueLine, sourceName));
                }
                return new ConfigArray(items, valueLine);
            case InlineTableSyntax t:
                var table = new ConfigTableNode(valueLine);
                foreach (var item in t.Items)
                {
                    AddKeyValue(table, item.KeyValue!, sourceName);
                }
                return table;
            default:
                throw new TelosInputException($"{sourceName}:{line}: unsupported TOML value '{value?.ToString()?.Trim()}'");
        }
    }

    private static List<string> KeyParts(KeySyntax key)
    {
        var parts = new List<string> { KeyText(key.Key!) };
        foreach (var dotted in key.DotKeys)
        {
            parts.Add(KeyText(dotted.Key!));
        }
        return parts;
    }

    private static string KeyText(KeySyntax key) => string.Join('.', KeyParts(key));

    private static string KeyText(BareKeyOrStringValueSyntax key) => key switch
    {
        BareKeySyntax bare => bare.Key?.Text ?? "",
        StringValueSyntax quoted => quoted.Value ?? "",
        _ => key.ToString()?.Trim() ?? "",
    };

    // Leading trivia (comments, blank lines) belongs to the node's span in the syntax tree, so the
    // line is taken from the first token instead of the span start.
    private static int LineOf(SyntaxNode node)
    {
        var token = FirstToken(node);
        return (token?.Span.Start.Line ?? node.Span.Start.Line) + 1;
    }

    private static SyntaxToken? FirstToken(SyntaxNode node)
    {
        if (node is SyntaxToken token)
        {
            return token;
        }
        for (var i = 0; i < node.ChildrenCount; i++)
        {
            if (node.GetChild(i) is SyntaxNode child && FirstToken(child) is { } found)
            {
                return found;
            }
        }
        return null;
    }

    private static string OneLine(string message) => message.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Trim();
}
