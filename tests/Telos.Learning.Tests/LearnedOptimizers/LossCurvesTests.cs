using Telos.Learning.LearnedOptimizers;

namespace Telos.Learning.Tests.LearnedOptimizers;

public sealed class LossCurvesTests
{
    [Fact]
    public void MeanWithCiMatchesHandComputedNumbers()
    {
        // One step, four problems: mean 2.5, sample sd √(5/3), half-width 1.96·sd/2.
        var curves = new LossCurves("a", new float[,] { { 1, 2, 3, 4 } });
        var (mean, half) = curves.MeanWithCi(0);
        Assert.Equal(2.5, mean, 12);
        Assert.Equal(1.96 * Math.Sqrt(5.0 / 3.0) / 2, half, 6);
    }

    [Fact]
    public void PairingRemovesSharedDifficulty()
    {
        // Problem difficulty varies 1000-fold; b is a's loss + 1 on every problem. Unpaired CIs overlap,
        // the paired difference is exactly −1 with zero width, and a is lower on every problem.
        var a = new LossCurves("a", new float[,] { { 1, 10, 100, 1000 } });
        var b = new LossCurves("b", new float[,] { { 2, 11, 101, 1001 } });
        var (meanA, halfA) = a.MeanWithCi(0);
        var (meanB, halfB) = b.MeanWithCi(0);
        Assert.True(meanA + halfA > meanB - halfB, "the unpaired CIs should overlap in this example");
        var (difference, half, share) = a.PairedDifference(b, 0);
        Assert.Equal(-1.0, difference, 12);
        Assert.Equal(0.0, half, 12);
        Assert.Equal(1.0, share);
        var (reverse, _, reverseShare) = b.PairedDifference(a, 0);
        Assert.Equal(1.0, reverse, 12);
        Assert.Equal(0.0, reverseShare);
    }

    [Fact]
    public void PairedDifferenceNeedsTheSameProblems()
    {
        var a = new LossCurves("a", new float[,] { { 1, 2, 3 } });
        var b = new LossCurves("b", new float[,] { { 1, 2 } });
        Assert.Throws<ArgumentException>(() => a.PairedDifference(b, 0));
    }
}
