
namespace Telos.Environments;

/// <summary>A registered task distribution: its name, environment family and what it draws.</summary>
public sealed record TaskDistributionInfo(string Name, string Family, string Summary);

/// <summary>
/// Looks up task distributions by name: <c>TaskDistributions.Maze("maze/test", size: 13)</c>.
/// Names are the ones the issues and papers use; an unknown name is a <see cref="TelosInputException"/>
/// that lists the known ones.
/// </summary>
public static class TaskDistributions
{
    /// <summary>Every registered distribution.</summary>
    public static IReadOnlyList<TaskDistributionInfo> All { get; } =
    [
        new("maze/train", "maze", "cheese uniform in the top-right n×n region (n = region, default 1: the corner)"),
        new("maze/test", "maze", "cheese uniform over all open cells"),
        new("maze/far", "maze", "cheese at least k path steps from the top-right corner (default k = size)"),
        new("kc/train", "kc", "keys & chests: chests outnumber keys 2:1"),
        new("kc/test", "kc", "keys & chests: keys outnumber chests 2:1"),
    ];

    /// <summary>The family of a registered name ("maze", "kc").</summary>
    /// <exception cref="TelosInputException">Unknown name.</exception>
    public static string FamilyOf(string name) =>
        All.FirstOrDefault(d => d.Name == name)?.Family ?? throw Unknown(name);

    /// <summary>A maze distribution by name.</summary>
    /// <param name="name"><c>maze/train</c>, <c>maze/test</c> or <c>maze/far</c>.</param>
    /// <param name="size">Odd side length 3..25.</param>
    /// <param name="region">Side of the top-right cheese region for <c>maze/train</c> (1 = corner; 5 = Turner et al.).</param>
    /// <param name="minCornerDistance">k for <c>maze/far</c> (default: size).</param>
    /// <param name="stepLimit">Step limit (default 4·size²).</param>
    /// <exception cref="TelosInputException">Unknown name or invalid parameters.</exception>
    public static MazeDistribution Maze(string name, int size = MazeDistribution.DefaultSize, int region = 1, int? minCornerDistance = null, int? stepLimit = null) => name switch
    {
        "maze/train" => new MazeDistribution(CheesePlacement.TopRightRegion, size, region, minCornerDistance, stepLimit),
        "maze/test" => new MazeDistribution(CheesePlacement.Anywhere, size, region, minCornerDistance, stepLimit),
        "maze/far" => new MazeDistribution(CheesePlacement.FarFromCorner, size, region, minCornerDistance, stepLimit),
        _ => throw Unknown(name, "maze"),
    };

    /// <summary>A keys &amp; chests distribution by name.</summary>
    /// <param name="name"><c>kc/train</c> (chests = 2 × keys) or <c>kc/test</c> (keys = 2 × chests).</param>
    /// <param name="size">Side of the room, 3..25.</param>
    /// <param name="maxMinority">Largest minority count m (the majority is 2m).</param>
    /// <param name="stepLimit">Step limit (default 4·size²).</param>
    /// <exception cref="TelosInputException">Unknown name or invalid parameters.</exception>
    public static KeysAndChestsDistribution KeysAndChests(string name, int size = KeysAndChestsDistribution.DefaultSize, int maxMinority = KeysAndChestsDistribution.DefaultMaxMinority, int? stepLimit = null) => name switch
    {
        "kc/train" => new KeysAndChestsDistribution(keysOutnumberChests: false, size, maxMinority, stepLimit),
        "kc/test" => new KeysAndChestsDistribution(keysOutnumberChests: true, size, maxMinority, stepLimit),
        _ => throw Unknown(name, "kc"),
    };

    internal static TelosInputException Unknown(string name, string? family = null)
    {
        var known = All.Where(d => family is null || d.Family == family).Select(d => d.Name);
        return new TelosInputException($"unknown task distribution '{name}'; known: {string.Join(", ", known)}");
    }
}
