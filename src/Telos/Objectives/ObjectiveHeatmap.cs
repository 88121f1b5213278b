using Telos.Environments;
using Telos.Imaging;

namespace Telos.Objectives;

/// <summary>An objective drawn over every open cell of a maze level.</summary>
/// <param name="Image">The picture: walls dark, open cells coloured by value (blue = lowest, near-white = 0, red = highest, scaled by the largest |V|), the cheese as a yellow square, the start as a small brown one.</param>
/// <param name="Values">V per cell, [Size·Size] row-major; NaN on walls.</param>
/// <param name="Min">Smallest V over open cells.</param>
/// <param name="Max">Largest V over open cells.</param>
public sealed record MazeHeatmap(RgbImage Image, double[] Values, double Min, double Max);

/// <summary>Heatmaps of objectives: what the objective wants, everywhere at once.</summary>
public static class ObjectiveHeatmap
{
    private static readonly Rgb Low = new(59, 76, 192);
    private static readonly Rgb Zero = new(242, 242, 242);
    private static readonly Rgb High = new(180, 4, 38);

    /// <summary>Evaluates <paramref name="objective"/> on every open cell of <paramref name="maze"/> (one batched call) and draws it.</summary>
    /// <param name="maze">The level.</param>
    /// <param name="objective">Any evaluator: compiled, shaped base, or neural.</param>
    /// <param name="cellPixels">Pixels per cell, 2..64.</param>
    public static MazeHeatmap Maze(Maze maze, IStateEvaluator<MazeState> objective, int cellPixels = 16)
    {
        if (cellPixels is < 2 or > 64)
        {
            throw new TelosInputException($"cell pixels {cellPixels} is not allowed; use 2 to 64");
        }
        var n = maze.Size;
        var cells = Enumerable.Range(0, n * n).Where(maze.IsOpen).ToArray();
        var states = cells.Select(c => new MazeState(c, 0)).ToArray();
        var values = new double[states.Length];
        objective.Evaluate(states, values);
        var grid = Enumerable.Repeat(double.NaN, n * n).ToArray();
        for (var i = 0; i < cells.Length; i++)
        {
            grid[cells[i]] = values[i];
        }
        var min = values.Min();
        var max = values.Max();
        var scale = Math.Max(Math.Abs(min), Math.Abs(max));
        var image = new RgbImage(n * cellPixels, n * cellPixels);
        for (var cell = 0; cell < n * n; cell++)
        {
            var x = cell % n * cellPixels;
            var y = cell / n * cellPixels;
            var colour = maze.IsOpen(cell) ? Colour(scale > 0 ? grid[cell] / scale : 0) : EnvironmentImages.Wall;
            image.Fill(x, y, cellPixels, cellPixels, colour);
        }
        Mark(image, maze.Cheese, n, cellPixels, EnvironmentImages.Cheese, 2);
        Mark(image, maze.Start, n, cellPixels, EnvironmentImages.Agent, 3);
        return new MazeHeatmap(image, grid, min, max);
    }

    /// <summary>Diverging colour for t ∈ [−1, 1].</summary>
    public static Rgb Colour(double t)
    {
        t = double.IsFinite(t) ? Math.Clamp(t, -1, 1) : 0;
        var to = t < 0 ? Low : High;
        var a = Math.Abs(t);
        return new Rgb(Mix(Zero.R, to.R, a), Mix(Zero.G, to.G, a), Mix(Zero.B, to.B, a));
    }

    private static byte Mix(byte from, byte to, double a) => (byte)Math.Round(from + (to - from) * a);

    private static void Mark(RgbImage image, int cell, int n, int cellPixels, Rgb colour, int fraction)
    {
        var inner = Math.Max(1, cellPixels / fraction);
        var offset = (cellPixels - inner) / 2;
        image.Fill(cell % n * cellPixels + offset, cell / n * cellPixels + offset, inner, inner, colour);
    }
}
