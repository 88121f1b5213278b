using Telos.Environments;
using Telos.Objectives;
using Telos.Planning;

namespace Telos.Tests.Planning;

/// <summary>Exact planners choose between equally good plans by the budget's tie rule, never by state or action order alone.</summary>
public sealed class TieBreakTests
{
    private static readonly KeyValuePair<string, double>[] CheeseAndCorner = [new("at_cheese", 1), new("at_corner", 1)];

    /// <summary>Levels of maze/test where the cheese and the corner are distinct and each reachable without passing the other.</summary>
    private static IEnumerable<Maze> TellApart(int size)
    {
        var distribution = TaskDistributions.Maze("maze/test", size);
        for (var seed = 0; ; seed++)
        {
            var maze = distribution.Level(seed);
            if (maze.Cheese == maze.Corner)
            {
                continue;
            }
            var toCheese = MazePlanning.Plan(maze, ObjectiveCard.Linear([new("at_cheese", 1)]), "bfs");
            var toCorner = MazePlanning.Plan(maze, ObjectiveCard.Linear([new("at_corner", 1)]), "bfs");
            if (toCheese.ReachedCheese && toCorner.EndedAtCorner && !toCheese.Cells.Contains(maze.Corner))
            {
                yield return maze;
            }
        }
    }

    private static (int Cheese, int Corner) Endings(Maze maze, ObjectiveCard card, string planner, TieBreak rule, double tolerance = 0)
    {
        var (cheese, corner) = (0, 0);
        for (var seed = 0UL; seed < 40; seed++)
        {
            var outcome = MazePlanning.Plan(maze, card, planner, new PlanBudget(Seed: seed, Ties: rule, TieTolerance: tolerance));
            cheese += outcome.ReachedCheese ? 1 : 0;
            corner += outcome.EndedAtCorner ? 1 : 0;
        }
        return (cheese, corner);
    }

    [Theory]
    [InlineData("bfs")]
    [InlineData("astar")]
    public void Exact_planners_draw_between_equally_valued_goals_by_their_seed(string planner)
    {
        var card = ObjectiveCard.Linear(CheeseAndCorner);
        foreach (var maze in TellApart(9).Take(3))
        {
            var (cheese, corner) = Endings(maze, card, planner, TieBreak.Random);
            Assert.Equal(40, cheese + corner);
            Assert.InRange(cheese, 8, 32); // 40 fair coin flips: outside [8, 32] has probability < 1e-4
            var first = Endings(maze, card, planner, TieBreak.First);
            Assert.True(first.Cheese is 0 or 40, $"the First rule ignores the seed, got {first}");
            // Same seed, same choice.
            var budget = new PlanBudget(Seed: 5);
            Assert.Equal(MazePlanning.Plan(maze, card, planner, budget).Cells, MazePlanning.Plan(maze, card, planner, budget).Cells);
        }
    }

    [Theory]
    [InlineData("bfs")]
    [InlineData("astar")]
    public void Exact_planners_with_a_tolerance_are_indifferent_to_negligible_weights(string planner)
    {
        // A coordinate weight of 0.001 beside goal weights of 1 decides every tie without a tolerance.
        var card = ObjectiveCard.Linear([.. CheeseAndCorner, new("x", 0.001)]);
        var maze = TellApart(9).First();
        var exact = Endings(maze, card, planner, TieBreak.Random);
        Assert.True(exact.Cheese is 0 or 40 && exact.Cheese + exact.Corner == 40, $"without a tolerance the x weight decides, got {exact}");
        var tolerant = Endings(maze, card, planner, TieBreak.Random, tolerance: 0.05);
        Assert.Equal(40, tolerant.Cheese + tolerant.Corner);
        Assert.InRange(tolerant.Cheese, 8, 32);
    }

    [Fact]
    public void Value_iteration_draws_between_equally_good_moves_by_its_seed()
    {
        // Cheese and corner at the same path distance: two plans of equal discounted value that part at some cell.
        var maze = TellApart(9).First(m => m.PathDistanceToCorner(m.Start) == MazePlanning.Plan(m, ObjectiveCard.Linear([new("at_cheese", 1)]), "bfs").Steps);
        var card = ObjectiveCard.Linear(CheeseAndCorner);
        var (cheese, corner) = Endings(maze, card, "vi", TieBreak.Random);
        Assert.Equal(40, cheese + corner);
        Assert.InRange(cheese, 8, 32);
        var first = Endings(maze, card, "vi", TieBreak.First);
        Assert.True(first.Cheese is 0 or 40, $"the First rule ignores the seed, got {first}");
    }

    [Fact]
    public void Bfs_stays_when_the_start_is_as_good_as_anything_reachable()
    {
        var maze = TellApart(9).First();
        var outcome = MazePlanning.Plan(maze, ObjectiveCard.Linear([new("at_cheese", 0)], bias: 1), "bfs", new PlanBudget(Seed: 3));
        Assert.Equal(0, outcome.Steps);
        Assert.True(outcome.Halted);
    }

    [Fact]
    public void Budget_refuses_a_tolerance_outside_zero_to_one()
    {
        var error = Assert.Throws<TelosInputException>(() => new PlanBudget(TieTolerance: double.NaN).Validate());
        Assert.Contains("tie tolerance", error.Message, StringComparison.Ordinal);
        Assert.Throws<TelosInputException>(() => new PlanBudget(TieTolerance: 1).Validate());
    }
}
