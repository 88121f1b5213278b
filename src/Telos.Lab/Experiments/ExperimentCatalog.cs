using System.Reflection;

namespace Telos.Lab.Experiments;

/// <summary>
/// Finds every <see cref="IExperiment"/> in the Telos assemblies of this process: those loaded, and the
/// Telos* assemblies they reference (loaded on demand), so a project only has to be referenced by the
/// CLI for its experiments to appear.
/// </summary>
public sealed class ExperimentCatalog
{
    private readonly Dictionary<string, IExperiment> _byKind;

    public ExperimentCatalog(IEnumerable<IExperiment> experiments)
    {
        _byKind = new Dictionary<string, IExperiment>(StringComparer.Ordinal);
        foreach (var experiment in experiments)
        {
            if (!_byKind.TryAdd(experiment.Kind, experiment))
            {
                throw new InvalidOperationException($"two experiments claim kind '{experiment.Kind}': {_byKind[experiment.Kind].GetType().FullName} and {experiment.GetType().FullName}");
            }
        }
    }

    /// <summary>Experiments by kind, sorted.</summary>
    public IReadOnlyList<IExperiment> All => _byKind.Values.OrderBy(e => e.Kind, StringComparer.Ordinal).ToList();

    public IReadOnlyList<string> Kinds => _byKind.Keys.Order(StringComparer.Ordinal).ToList();

    public IExperiment? Find(string kind) => _byKind.GetValueOrDefault(kind);

    /// <summary>Scans the Telos assemblies of the current process.</summary>
    public static ExperimentCatalog Discover()
    {
        var experiments = new List<IExperiment>();
        foreach (var assembly in TelosAssemblies())
        {
            Type[] types;
            try
            {
                types = assembly.GetTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                types = e.Types.Where(t => t is not null).ToArray()!;
            }
            foreach (var type in types)
            {
                if (typeof(IExperiment).IsAssignableFrom(type) && type is { IsAbstract: false, IsInterface: false, IsPublic: true } && type.GetConstructor(Type.EmptyTypes) is not null)
                {
                    experiments.Add((IExperiment)Activator.CreateInstance(type)!);
                }
            }
        }
        return new ExperimentCatalog(experiments);
    }

    private static IEnumerable<Assembly> TelosAssemblies()
    {
        static bool IsTelos(string? name) => name is not null && (name == "Telos" || name.StartsWith("Telos.", StringComparison.Ordinal));

        var seen = new Dictionary<string, Assembly>(StringComparer.Ordinal);
        var pending = new Queue<Assembly>(AppDomain.CurrentDomain.GetAssemblies().Where(a => IsTelos(a.GetName().Name)));
        if (Assembly.GetEntryAssembly() is { } entry)
        {
            pending.Enqueue(entry);
        }
        while (pending.TryDequeue(out var assembly))
        {
            var name = assembly.GetName().Name!;
            if (!seen.TryAdd(name, assembly))
            {
                continue;
            }
            foreach (var reference in assembly.GetReferencedAssemblies().Where(r => IsTelos(r.Name) && !seen.ContainsKey(r.Name!)))
            {
                try
                {
                    pending.Enqueue(Assembly.Load(reference));
                }
                catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
                {
                }
            }
        }
        return seen.Values.Where(a => IsTelos(a.GetName().Name));
    }
}
