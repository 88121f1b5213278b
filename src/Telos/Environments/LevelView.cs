using Telos.Imaging;

namespace Telos.Environments;

/// <summary>One level of any family as <c>telos env show</c> prints it.</summary>
/// <param name="Distribution">The distribution's name.</param>
/// <param name="Provenance">Distribution, parameters and seed of the level.</param>
/// <param name="Ascii">The start state's picture.</param>
/// <param name="Details">The family's details (size, start, items, step limit).</param>
/// <param name="Features">The start state's named features.</param>
/// <param name="Image">The start state's picture.</param>
public sealed record LevelView(string Distribution, string Provenance, string Ascii, IReadOnlyDictionary<string, object> Details, IReadOnlyDictionary<string, double> Features, RgbImage Image)
{
    /// <summary>The view of level <paramref name="seed"/> of <paramref name="distribution"/>.</summary>
    /// <exception cref="TelosInputException">Unknown distribution, bad parameters, a negative seed or pixels outside 2..64.</exception>
    public static LevelView Of(string distribution, DistributionParameters parameters, long seed, int cellPixels = 12) =>
        EnvironmentFamilies.Run(distribution, new Show(distribution, parameters, seed, cellPixels));

    /// <summary>The named features of <paramref name="state"/>.</summary>
    public static IReadOnlyDictionary<string, double> FeaturesOf<TState>(IEnvironment<TState> level, in TState state)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(level);
        var values = new double[level.Features.Count];
        level.WriteFeatures(state, values);
        var names = level.Features.Names;
        var result = new Dictionary<string, double>(names.Count, StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            result[names[i]] = values[i];
        }
        return result;
    }

    private sealed record Show(string Distribution, DistributionParameters Parameters, long Seed, int CellPixels) : IFamilyOperation<LevelView>
    {
        public LevelView Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            if (CellPixels is < 2 or > 64)
            {
                throw new TelosInputException($"cell pixels {CellPixels} is not allowed; use 2 to 64");
            }
            var level = family.Distribution(Distribution, Parameters).Level(Seed);
            var provenance = level.Provenance ?? $"{Distribution} {Parameters} seed={Seed}";
            return new LevelView(Distribution, provenance, family.Render(level, level.Initial), family.Details(level), FeaturesOf(level, level.Initial),
                family.Image(level, level.Initial, CellPixels));
        }
    }
}
