namespace Telos.Learning.LearnedOptimizers;

/// <summary>The outcome of a learning-rate grid search for one baseline.</summary>
/// <param name="Kind">The baseline.</param>
/// <param name="Grid">Learning rates tried, ascending.</param>
/// <param name="FinalLoss">Mean final loss per grid point on the tuning problems (+∞ when diverged).</param>
/// <param name="BestIndex">Index of the best grid point.</param>
public sealed record LearningRateSearchResult(BaselineKind Kind, IReadOnlyList<double> Grid, IReadOnlyList<double> FinalLoss, int BestIndex)
{
    /// <summary>The best learning rate.</summary>
    public double Best => Grid[BestIndex];

    /// <summary>True when the best is strictly inside the grid (not at either end), so the grid was wide enough.</summary>
    public bool BestIsInterior => BestIndex > 0 && BestIndex < Grid.Count - 1;
}

/// <summary>Log-grid learning-rate search for the hand-designed baselines, on tuning problems.</summary>
public static class LearningRateSearch
{
    /// <summary>
    /// Log-spaced grid from <paramref name="low"/> to <paramref name="high"/> with
    /// <paramref name="perDecade"/> points per factor 10 (both ends included).
    /// </summary>
    public static double[] LogGrid(double low, double high, int perDecade)
    {
        if (!(low > 0) || !(high >= low) || perDecade < 1)
        {
            throw new TelosInputException($"learning-rate grid needs 0 < low ≤ high and ≥ 1 point per decade, got low {low}, high {high}, per decade {perDecade}");
        }
        var points = (int)Math.Round(Math.Log10(high / low) * perDecade) + 1;
        var grid = new double[points];
        for (var i = 0; i < points; i++)
        {
            grid[i] = low * Math.Pow(10, (double)i / perDecade);
        }
        return grid;
    }

    /// <summary>
    /// Runs <paramref name="kind"/> at each learning rate of <paramref name="grid"/> on
    /// <paramref name="tuning"/> for <paramref name="steps"/> steps and picks the lowest mean final loss.
    /// </summary>
    public static LearningRateSearchResult Run(BaselineKind kind, IReadOnlyList<double> grid, IOptimizeeBatch tuning, int steps)
    {
        var finals = new double[grid.Count];
        var best = 0;
        for (var i = 0; i < grid.Count; i++)
        {
            using var rule = new BaselineRule(kind, grid[i]);
            finals[i] = OptimizeeRunner.Run(tuning, rule, steps).MeanFinal();
            if (finals[i] < finals[best])
            {
                best = i;
            }
        }
        return new LearningRateSearchResult(kind, grid.ToArray(), finals, best);
    }
}
