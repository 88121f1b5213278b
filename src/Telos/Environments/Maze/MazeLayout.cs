using Telos.Randomness;

namespace Telos.Environments;

/// <summary>
/// Perfect mazes by randomized Kruskal, as procgen's Maze draws them: on an odd size N, the cells
/// with both coordinates even are rooms (always open), cells with both odd are always walls, and
/// the cells between two rooms are walls that Kruskal carves until every room is joined exactly once.
/// </summary>
public static class MazeLayout
{
    /// <summary>Smallest supported size.</summary>
    public const int MinSize = 3;

    /// <summary>Largest supported size (procgen's largest maze).</summary>
    public const int MaxSize = 25;

    /// <summary>
    /// A perfect maze of <paramref name="size"/>×<paramref name="size"/> cells: the returned array,
    /// row-major, is true for open cells. The open cells form a tree under 4-neighbour adjacency.
    /// </summary>
    /// <exception cref="TelosInputException">The size is even or outside 3..25.</exception>
    public static bool[] Kruskal(int size, ref Rng rng)
    {
        ValidateSize(size);
        var open = new bool[size * size];
        var rooms = (size + 1) / 2;
        for (var r = 0; r < size; r += 2)
        {
            for (var c = 0; c < size; c += 2)
            {
                open[r * size + c] = true;
            }
        }

        // Every wall between two horizontally or vertically adjacent rooms, identified by its cell.
        var walls = new int[2 * rooms * (rooms - 1)];
        var count = 0;
        for (var r = 0; r < size; r += 2)
        {
            for (var c = 0; c < size; c += 2)
            {
                if (c + 2 < size)
                {
                    walls[count++] = r * size + c + 1;
                }
                if (r + 2 < size)
                {
                    walls[count++] = (r + 1) * size + c;
                }
            }
        }
        for (var i = count - 1; i > 0; i--)
        {
            var j = rng.NextInt(i + 1);
            (walls[i], walls[j]) = (walls[j], walls[i]);
        }

        var parent = new int[size * size];
        for (var i = 0; i < parent.Length; i++)
        {
            parent[i] = i;
        }
        foreach (var wall in walls)
        {
            var r = wall / size;
            // A wall on an even row joins left and right rooms; on an odd row, rooms above and below.
            var (a, b) = r % 2 == 0 ? (wall - 1, wall + 1) : (wall - size, wall + size);
            var ra = Find(parent, a);
            var rb = Find(parent, b);
            if (ra != rb)
            {
                parent[ra] = rb;
                open[wall] = true;
            }
        }
        return open;
    }

    /// <summary>Throws unless <paramref name="size"/> is odd and in 3..25.</summary>
    /// <exception cref="TelosInputException">The size is even or outside 3..25.</exception>
    public static void ValidateSize(int size)
    {
        if (size < MinSize || size > MaxSize || size % 2 == 0)
        {
            throw new TelosInputException($"maze size {size} is not allowed; use an odd size from {MinSize} to {MaxSize}");
        }
    }

    private static int Find(int[] parent, int x)
    {
        while (parent[x] != x)
        {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        return x;
    }
}
