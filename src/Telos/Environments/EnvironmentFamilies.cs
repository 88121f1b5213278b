using System.Collections.Immutable;

namespace Telos.Environments;

/// <summary>
/// The registry of environment families. The built-in ones (<c>maze</c>, <c>kc</c>) are listed
/// here, one line each; a program or test adds its own with <see cref="Register"/>. Every command
/// and experiment finds a family by a distribution's name through this class.
/// </summary>
public static class EnvironmentFamilies
{
    private static ImmutableArray<IEnvironmentFamily> _families = [MazeFamily.Instance, KeysAndChestsFamily.Instance];

    /// <summary>Every registered family, built-in ones first, in registration order.</summary>
    public static IReadOnlyList<IEnvironmentFamily> All => _families;

    /// <summary>Every registered distribution, family by family.</summary>
    public static IReadOnlyList<TaskDistributionInfo> Distributions => [.. _families.SelectMany(f => f.Distributions)];

    /// <summary>
    /// Adds a family. Registering the same instance again does nothing; another family under a
    /// registered family name, or with a distribution already registered, is refused.
    /// </summary>
    /// <exception cref="ArgumentException">The family's name or one of its distribution names is taken.</exception>
    public static void Register(IEnvironmentFamily family)
    {
        ArgumentNullException.ThrowIfNull(family);
        ImmutableInterlocked.Update(ref _families, families =>
        {
            if (families.Contains(family))
            {
                return families;
            }
            if (families.Any(f => f.Name == family.Name))
            {
                throw new ArgumentException($"an environment family named '{family.Name}' is already registered", nameof(family));
            }
            foreach (var d in family.Distributions)
            {
                if (!d.Name.StartsWith(family.Name + "/", StringComparison.Ordinal) || d.Family != family.Name)
                {
                    throw new ArgumentException($"distribution '{d.Name}' of family '{family.Name}' must be named '{family.Name}/…' and carry the family's name", nameof(family));
                }
            }
            return families.Add(family);
        });
    }

    /// <summary>The family called <paramref name="name"/>.</summary>
    /// <exception cref="TelosInputException">Unknown family; the message lists the known ones.</exception>
    public static IEnvironmentFamily Get(string name) =>
        _families.FirstOrDefault(f => f.Name == name)
        ?? throw new TelosInputException($"unknown environment family '{name}'; known: {string.Join(", ", _families.Select(f => f.Name))}");

    /// <summary>The family that owns distribution <paramref name="distribution"/> (<c>maze/test</c> → maze).</summary>
    /// <exception cref="TelosInputException">Unknown distribution; the message lists the known ones.</exception>
    public static IEnvironmentFamily Of(string distribution)
    {
        ArgumentNullException.ThrowIfNull(distribution);
        return _families.FirstOrDefault(f => f.Distributions.Any(d => d.Name == distribution))
            ?? throw new TelosInputException($"unknown task distribution '{distribution}'; known: {string.Join(", ", Distributions.Select(d => d.Name))}");
    }

    /// <summary>Runs <paramref name="operation"/> on the family of <paramref name="distribution"/>.</summary>
    /// <exception cref="TelosInputException">Unknown distribution.</exception>
    public static TResult Run<TResult>(string distribution, IFamilyOperation<TResult> operation) => Of(distribution).Accept(operation);
}
