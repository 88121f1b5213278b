using Telos.Environments;
using Telos.Objectives;

namespace Telos.Tests.Objectives;

public sealed class FeatureIdentifiabilityTests
{
    private static TransitionSample Walks(string distribution) =>
        TransitionSample.Collect<MazeState>(s => TaskDistributions.Maze(distribution, 9).Level(s), levels: 40, stepsPerLevel: 100, seed: 3, uniformStarts: true);

    [Fact]
    public void On_maze_train_the_cheese_and_the_corner_are_one_feature_and_on_maze_test_they_are_not()
    {
        var train = FeatureIdentifiability.Audit(Walks("maze/train"));
        var cheese = Assert.Single(train.Features, f => f.Feature == "at_cheese");
        Assert.Equal(Unidentified.Duplicate, cheese.Reason);
        Assert.Equal(["at_corner"], cheese.Partners);
        Assert.Equal(1.0, cheese.Score, 9);
        Assert.True(train.IsUnidentified("path_dist_to_corner"));
        Assert.False(train.IsUnidentified("x"));
        // Each duplicate pair is described once.
        Assert.Single(train.Lines(), l => l.Contains("at_cheese", StringComparison.Ordinal) && l.Contains("at_corner", StringComparison.Ordinal));
        Assert.Contains("at_cheese ≡ at_corner (|r| = 1.000)", train.Lines());

        var test = FeatureIdentifiability.Audit(Walks("maze/test"));
        Assert.False(test.IsUnidentified("at_cheese"));
        Assert.False(test.IsUnidentified("at_corner"));
    }

    [Fact]
    public void Constant_duplicate_and_collinear_columns_are_told_apart()
    {
        // Columns: a, b = 2a + 1 (duplicate of a), c, d, e = c + d (collinear, not a duplicate of either), k = 3 (constant), u (independent).
        var rng = new Randomness.Rng(11);
        const int n = 500;
        string[] names = ["a", "b", "c", "d", "e", "k", "u"];
        var rows = new double[n * names.Length];
        for (var r = 0; r < n; r++)
        {
            double a = rng.NextGaussian(), c = rng.NextGaussian(), d = rng.NextGaussian();
            double[] row = [a, 2 * a + 1, c, d, c + d, 3, rng.NextGaussian()];
            row.CopyTo(rows, r * names.Length);
        }
        var report = FeatureIdentifiability.Audit(rows, names);
        Assert.Equal(Unidentified.Duplicate, report.Features.Single(f => f.Feature == "b").Reason);
        Assert.Equal(["a"], report.Features.Single(f => f.Feature == "b").Partners);
        var e = report.Features.Single(f => f.Feature == "e");
        Assert.Equal(Unidentified.Collinear, e.Reason);
        Assert.Equal(["c", "d"], e.Partners.Order());
        Assert.Equal(Unidentified.Constant, report.Features.Single(f => f.Feature == "k").Reason);
        Assert.False(report.IsUnidentified("u"));
        Assert.Equal(["a", "b", "c", "d", "e", "k"], report.Features.Select(f => f.Feature));
    }

    [Fact]
    public void A_threshold_outside_zero_to_one_is_an_input_error()
    {
        Assert.Throws<TelosInputException>(() => FeatureIdentifiability.Audit(new double[4], ["a", "b"], threshold: 1.5));
        Assert.Throws<TelosInputException>(() => FeatureIdentifiability.Audit(new double[3], ["a", "b"]));
    }
}
