namespace Telos.Environments;

/// <summary>
/// Typed shortcuts to the built-in families' distributions: <c>TaskDistributions.Maze("maze/test", size: 13)</c>.
/// Code that works on any family goes through <see cref="EnvironmentFamilies"/> instead.
/// </summary>
public static class TaskDistributions
{
    /// <summary>A maze distribution by name.</summary>
    /// <param name="name"><c>maze/train</c>, <c>maze/test</c> or <c>maze/far</c>.</param>
    /// <param name="size">Odd side length 3..25.</param>
    /// <param name="region">Side of the top-right cheese region for <c>maze/train</c> (1 = corner; 5 = Turner et al.).</param>
    /// <param name="minCornerDistance">k for <c>maze/far</c> (default: size).</param>
    /// <param name="stepLimit">Step limit (default 4·size²).</param>
    /// <param name="gems">1: every level also holds a gem (<see cref="Environments.Maze.Gem"/>); 0: none.</param>
    /// <exception cref="TelosInputException">Unknown name or invalid parameters.</exception>
    public static MazeDistribution Maze(string name, int size = MazeDistribution.DefaultSize, int region = 1, int? minCornerDistance = null, int? stepLimit = null, int gems = 0) =>
        MazeFamily.Instance.Typed(name, DistributionParameters.Of(("size", size), ("region", region), ("min_corner_distance", minCornerDistance), ("step_limit", stepLimit), ("gems", gems)));

    /// <summary>A keys &amp; chests distribution by name.</summary>
    /// <param name="name"><c>kc/train</c> (chests = 2 × keys) or <c>kc/test</c> (keys = 2 × chests).</param>
    /// <param name="size">Side of the room, 3..25.</param>
    /// <param name="maxMinority">Largest minority count m (the majority is 2m).</param>
    /// <param name="stepLimit">Step limit (default 4·size²).</param>
    /// <exception cref="TelosInputException">Unknown name or invalid parameters.</exception>
    public static KeysAndChestsDistribution KeysAndChests(string name, int size = KeysAndChestsDistribution.DefaultSize, int maxMinority = KeysAndChestsDistribution.DefaultMaxMinority, int? stepLimit = null) =>
        KeysAndChestsFamily.Instance.Typed(name, DistributionParameters.Of(("size", size), ("max_minority", maxMinority), ("step_limit", stepLimit)));
}
