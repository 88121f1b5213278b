using Telos.Imaging;

namespace Telos.Environments;

/// <summary>
/// Small report images of maze and keys &amp; chests states, and episode strips (one frame per
/// state, left to right). The top-right corner of a maze is tinted so that a mouse heading for the
/// corner instead of the cheese is visible at a glance.
/// </summary>
public static class EnvironmentImages
{
    /// <summary>Maze walls.</summary>
    public static readonly Rgb Wall = new(40, 44, 64);

    /// <summary>Open floor.</summary>
    public static readonly Rgb Floor = new(236, 236, 228);

    /// <summary>The top-right corner (the proxy goal).</summary>
    public static readonly Rgb CornerTint = new(200, 220, 250);

    /// <summary>The mouse / agent.</summary>
    public static readonly Rgb Agent = new(120, 80, 50);

    /// <summary>The cheese.</summary>
    public static readonly Rgb Cheese = new(250, 200, 20);

    /// <summary>The maze's gem.</summary>
    public static readonly Rgb Gem = new(40, 170, 160);

    /// <summary>A key.</summary>
    public static readonly Rgb Key = new(230, 170, 0);

    /// <summary>A closed chest.</summary>
    public static readonly Rgb Chest = new(150, 60, 30);

    /// <summary>An opened chest.</summary>
    public static readonly Rgb OpenChest = new(190, 190, 190);

    /// <summary>One maze state, <paramref name="cellPixels"/> pixels per cell.</summary>
    public static RgbImage Maze(Maze maze, MazeState state, int cellPixels = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cellPixels, 2);
        var n = maze.Size;
        var image = new RgbImage(n * cellPixels, n * cellPixels);
        for (var cell = 0; cell < n * n; cell++)
        {
            var colour = !maze.IsOpen(cell) ? Wall : cell == maze.Corner ? CornerTint : Floor;
            image.Fill(cell % n * cellPixels, cell / n * cellPixels, cellPixels, cellPixels, colour);
        }
        Dot(image, maze.Cheese, n, cellPixels, Cheese, inset: 1);
        if (maze.HasGem)
        {
            Dot(image, maze.Gem, n, cellPixels, Gem, inset: 1);
        }
        Dot(image, state.Cell, n, cellPixels, Agent, inset: cellPixels / 4);
        return image;
    }

    /// <summary>One keys &amp; chests state; a bar under the room shows the keys held.</summary>
    public static RgbImage KeysAndChests(KeysAndChests level, KeysAndChestsState state, int cellPixels = 8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(cellPixels, 2);
        var n = level.Size;
        var image = new RgbImage(n * cellPixels, (n + 1) * cellPixels);
        image.Fill(0, 0, image.Width, image.Height, Floor);
        image.Fill(0, n * cellPixels, image.Width, cellPixels, Wall);
        for (var k = 0; k < level.Keys.Length; k++)
        {
            if ((state.KeysTaken & (1 << k)) == 0)
            {
                Dot(image, level.Keys[k], n, cellPixels, Key, inset: cellPixels / 4);
            }
        }
        for (var c = 0; c < level.Chests.Length; c++)
        {
            Dot(image, level.Chests[c], n, cellPixels, (state.ChestsOpened & (1 << c)) == 0 ? Chest : OpenChest, inset: 1);
        }
        Dot(image, state.Cell, n, cellPixels, Agent, inset: cellPixels / 4);
        for (var k = 0; k < Math.Min(state.KeysHeld, n); k++)
        {
            Dot(image, n * n + k, n, cellPixels, Key, inset: cellPixels / 4);
        }
        return image;
    }

    /// <summary>An episode strip of maze states (e.g. a rollout), <paramref name="perRow"/> frames to a row.</summary>
    public static RgbImage MazeEpisode(Maze maze, IEnumerable<MazeState> states, int cellPixels = 6, int perRow = 16) =>
        RgbImage.Strip(states.Select(s => Maze(maze, s, cellPixels)).ToList(), perRow);

    /// <summary>An episode strip of keys &amp; chests states.</summary>
    public static RgbImage KeysAndChestsEpisode(KeysAndChests level, IEnumerable<KeysAndChestsState> states, int cellPixels = 6, int perRow = 16) =>
        RgbImage.Strip(states.Select(s => KeysAndChests(level, s, cellPixels)).ToList(), perRow);

    private static void Dot(RgbImage image, int cell, int n, int cellPixels, Rgb colour, int inset) =>
        image.Fill(cell % n * cellPixels + inset, cell / n * cellPixels + inset, cellPixels - 2 * inset, cellPixels - 2 * inset, colour);
}
