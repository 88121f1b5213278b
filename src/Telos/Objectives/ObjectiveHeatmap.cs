using Telos.Environments;
using Telos.Imaging;

namespace Telos.Objectives;

/// <summary>An objective drawn over every cell of a level.</summary>
/// <param name="Image">The picture: walls dark, cells coloured by value (blue = lowest, near-white = 0, red = highest, scaled by the largest |V|), the family's landmarks (the maze's cheese as a yellow square, the start as a small brown one) on top.</param>
/// <param name="Values">V per cell, [Width·Height] row-major from the top row; NaN on walls.</param>
/// <param name="Width">Cells per row.</param>
/// <param name="Min">Smallest V over open cells.</param>
/// <param name="Max">Largest V over open cells.</param>
public sealed record CellHeatmap(RgbImage Image, double[] Values, int Width, double Min, double Max);

/// <summary>Heatmaps of objectives: what the objective wants, everywhere at once.</summary>
public static class ObjectiveHeatmap
{
    private static readonly Rgb Low = new(59, 76, 192);
    private static readonly Rgb Zero = new(242, 242, 242);
    private static readonly Rgb High = new(180, 4, 38);

    /// <summary>Evaluates <paramref name="objective"/> on every open cell of <paramref name="maze"/> (one batched call) and draws it.</summary>
    public static CellHeatmap Maze(Maze maze, IStateEvaluator<MazeState> objective, int cellPixels = 16) =>
        Cells(MazeFamily.Instance.Cells, maze, objective, cellPixels);

    /// <summary>
    /// Evaluates <paramref name="objective"/> on the state of every cell of <paramref name="level"/> (the rest
    /// of the state as at the start; one batched call) and draws it, with the grid's landmarks on top.
    /// </summary>
    /// <param name="grid">The family's cells.</param>
    /// <param name="level">The level.</param>
    /// <param name="objective">Any evaluator: compiled, shaped base, or neural.</param>
    /// <param name="cellPixels">Pixels per cell, 2..64.</param>
    /// <exception cref="TelosInputException">Pixels out of range.</exception>
    public static CellHeatmap Cells<TState>(ICellGrid<TState> grid, IEnvironment<TState> level, IStateEvaluator<TState> objective, int cellPixels = 16)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(grid);
        ArgumentNullException.ThrowIfNull(objective);
        if (cellPixels is < 2 or > 64)
        {
            throw new TelosInputException($"cell pixels {cellPixels} is not allowed; use 2 to 64");
        }
        var (width, height) = grid.Size(level);
        var cells = new List<int>();
        var states = new List<TState>();
        for (var row = 0; row < height; row++)
        {
            for (var column = 0; column < width; column++)
            {
                if (grid.TryStateAt(level, column, height - 1 - row, out var state))
                {
                    cells.Add(row * width + column);
                    states.Add(state);
                }
            }
        }
        var values = new double[states.Count];
        objective.Evaluate(states.ToArray(), values);
        var map = Enumerable.Repeat(double.NaN, width * height).ToArray();
        for (var i = 0; i < cells.Count; i++)
        {
            map[cells[i]] = values[i];
        }
        var min = values.Length == 0 ? 0 : values.Min();
        var max = values.Length == 0 ? 0 : values.Max();
        var scale = Math.Max(Math.Abs(min), Math.Abs(max));
        var image = new RgbImage(width * cellPixels, height * cellPixels);
        for (var cell = 0; cell < width * height; cell++)
        {
            var colour = double.IsNaN(map[cell]) ? EnvironmentImages.Wall : Colour(scale > 0 ? map[cell] / scale : 0);
            image.Fill(cell % width * cellPixels, cell / width * cellPixels, cellPixels, cellPixels, colour);
        }
        foreach (var (x, y, colour, fraction) in grid.Landmarks(level))
        {
            Mark(image, (height - 1 - y) * width + x, width, cellPixels, colour, fraction);
        }
        return new CellHeatmap(image, map, width, min, max);
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
