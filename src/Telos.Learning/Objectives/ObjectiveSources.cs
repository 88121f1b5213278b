using Telos.Agents;
using Telos.Environments;

namespace Telos.Learning.Objectives;

/// <summary>
/// Objectives named the way a user names them: a family's reference objective (<c>true</c>, or a
/// proxy such as <c>corner</c> or <c>keys</c>) or the path of a card file (any form).
/// </summary>
public static class ObjectiveSources
{
    /// <summary>The objective named <paramref name="spec"/> for levels of <paramref name="family"/>.</summary>
    /// <exception cref="TelosInputException">Neither a reference name of the family nor an existing, valid card file; the message lists the references.</exception>
    public static AgentObjective<TState> Resolve<TState>(string spec, IEnvironmentFamily<TState> family)
        where TState : struct
    {
        var loaded = Load(spec, family);
        var label = Reference(spec, family) is { } r ? $"{r.Name} ({r.Description})" : Path.GetFileName(spec);
        return loaded.ForAgent<TState>(label);
    }

    /// <summary>The loaded objective named <paramref name="spec"/> (a reference of the family or a card file).</summary>
    /// <exception cref="TelosInputException">Neither a reference name nor an existing, valid card file.</exception>
    public static LoadedObjective Load(string spec, IEnvironmentFamily family)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(family);
        if (Reference(spec, family) is { } reference)
        {
            return new LoadedObjective(reference.Card, null, $"{family.Name} reference '{reference.Name}'");
        }
        if (!File.Exists(spec))
        {
            throw new TelosInputException($"objective file '{spec}' does not exist; pass an objective card file or a {family.Name} reference: {References(family)}");
        }
        return ObjectiveFiles.Load(spec);
    }

    /// <summary>The reference objective of <paramref name="family"/> called <paramref name="name"/>, or null.</summary>
    public static ReferenceObjective? Reference(string name, IEnvironmentFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        return family.References.FirstOrDefault(r => r.Name == name);
    }

    /// <summary>"true (…), corner (…)" for messages and help.</summary>
    public static string References(IEnvironmentFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        return string.Join(", ", family.References.Select(r => $"{r.Name} ({r.Description})"));
    }
}
