using Telos.Learning.Planning;

namespace Telos.Learning.Tests.Planning;

/// <summary>The equal-compute control's unit: what <see cref="SearchCompute"/> charges is what the search runs, and equal rows give fewer steps to larger budgets.</summary>
public sealed class SearchComputeTests
{
    /// <summary>Two iterations of 4 environments × 3 steps at n = 1 and n = 5: the leaf model's counted rows are E·T·(1 + n) per iteration, no more and no fewer.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void TheSearchRunsTheForwardRowsTheUnitCharges(int simulations)
    {
        var settings = new SearchTrainingSettings { Seed = 2, NumEnvs = 4, NumSteps = 3, TotalTimesteps = 24, Simulations = simulations, MinibatchSize = 8, UpdatesPerIteration = 1 };
        var (policy, trainer) = ToySearchTraining.Trainer(settings);
        using (policy)
        using (trainer)
        {
            trainer.Train();
            Assert.Equal(2, trainer.Iteration);
            Assert.Equal(2 * SearchCompute.SearchRowsPerIteration(settings), trainer.SearchForwardRows);
            Assert.Equal(2L * 4 * 3 * (1 + simulations), trainer.SearchForwardRows);
        }
    }

    /// <summary>The shipped sweep's settings: every budget trains the whole iterations that fit in n = 1's rows, so n = 64 gets the fewest steps and no budget more rows than the reference.</summary>
    [Fact]
    public void EqualComputeCutsEachBudgetToTheIterationsThatFitInTheReferencesRows()
    {
        var reference = new SearchTrainingSettings { NumEnvs = 64, NumSteps = 16, TotalTimesteps = 409_600, Simulations = 1, MinibatchSize = 256, UpdatesPerIteration = 16 };
        Assert.Equal(5_734_400, SearchCompute.Rows(reference));
        var steps = new[] { 1, 4, 16, 64 }.Select(n => SearchCompute.EqualTo(reference with { Simulations = n }, 1)).ToArray();
        Assert.Equal([409_600L, 336_896, 197_632, 73_728], steps.Select(s => s.TotalTimesteps));
        Assert.All(steps, s => Assert.InRange(SearchCompute.Rows(s), SearchCompute.Rows(reference) - SearchCompute.RowsPerIteration(s) + 1, SearchCompute.Rows(reference)));
        var tooSmall = Assert.Throws<TelosInputException>(() => SearchCompute.EqualTo(reference with { TotalTimesteps = 1024, Simulations = 64 }, 1));
        Assert.Contains("less than one iteration at n = 64", tooSmall.Message, StringComparison.Ordinal);
    }
}
