using System.Text.Json;
using Telos.Environments;
using Telos.Objectives;
using Telos.Planning;

namespace Telos.Tests.Planning;

public sealed class MctsPlannerTests
{
    private static FunctionObjective<MazeState> TowardCheese(Maze maze) => new(s => -maze.PathDistanceToCheese(s.Cell));

    [Fact]
    public void Puct_follows_a_dense_objective_to_the_cheese_by_a_shortest_path()
    {
        var distribution = TaskDistributions.Maze("maze/test", 9);
        for (var seed = 0; seed < 3; seed++)
        {
            var maze = distribution.Level(seed);
            for (var searchSeed = 0UL; searchSeed < 4; searchSeed++)
            {
                var outcome = MazePlanning.Plan(maze, TowardCheese(maze), "mcts", new PlanBudget(Simulations: 16, Seed: searchSeed));
                Assert.True(outcome.ReachedCheese, $"level {seed}, search seed {searchSeed}");
                Assert.Equal(maze.PathDistanceToCheese(maze.Start), outcome.Steps);
            }
        }
    }

    [Fact]
    public void Gumbel_follows_a_dense_objective_to_the_cheese()
    {
        // Gumbel acts on g + logits + σ(q): its seeded noise may cost a detour, so only the arrival and a bound are checked.
        var distribution = TaskDistributions.Maze("maze/test", 9);
        for (var seed = 0; seed < 3; seed++)
        {
            var maze = distribution.Level(seed);
            var outcome = MazePlanning.Plan(maze, TowardCheese(maze), "gumbel", new PlanBudget(Simulations: 32, Seed: 1));
            Assert.True(outcome.ReachedCheese);
            Assert.InRange(outcome.Steps, maze.PathDistanceToCheese(maze.Start), 3 * maze.PathDistanceToCheese(maze.Start));
        }
    }

    [Theory]
    [InlineData("mcts")]
    [InlineData("gumbel")]
    public void Planner_halts_on_the_best_state_and_never_chooses_an_illegal_move(string planner)
    {
        var maze = TaskDistributions.Maze("maze/test", 9).Level(4);
        // The corner is the best state and does not end the episode: the agent must stop there by halting.
        var passesCheese = maze.PathDistanceToCheese(maze.Start) + maze.PathDistanceToCorner(maze.Cheese) == maze.PathDistanceToCorner(maze.Start);
        Span<bool> legal = stackalloc bool[4];
        for (var searchSeed = 0UL; searchSeed < 3; searchSeed++)
        {
            var outcome = MazePlanning.Plan(maze, new FunctionObjective<MazeState>(s => -maze.PathDistanceToCorner(s.Cell)), planner,
                new PlanBudget(Simulations: 32, Seed: searchSeed));
            Assert.Equal(!passesCheese, outcome.EndedAtCorner && outcome.Halted);
            for (var t = 0; t < outcome.Steps; t++)
            {
                maze.LegalActions(new MazeState(outcome.Cells[t], t), legal);
                Assert.True(legal[outcome.Actions[t]]);
            }
        }
    }

    [Theory]
    [InlineData("mcts")]
    [InlineData("gumbel")]
    [InlineData("uct")]
    public void Sparse_reward_beyond_the_search_halts_at_once(string planner)
    {
        // The cheese is 20 moves away on this level; 16 simulations see only zeros, and nothing beats staying.
        var maze = TaskDistributions.Maze("maze/test", 13).Level(3);
        Assert.True(maze.PathDistanceToCheese(maze.Start) > 16);
        var outcome = MazePlanning.Plan(maze, new FunctionObjective<MazeState>(s => s.Cell == maze.Cheese ? 10 : 0), planner, new PlanBudget(Simulations: 16));
        Assert.True(outcome.Halted);
        Assert.Equal(0, outcome.Steps);
    }

    [Theory]
    [InlineData("mcts")]
    [InlineData("gumbel")]
    public void Batched_and_unbatched_searches_decide_the_same(string name)
    {
        var distribution = TaskDistributions.Maze("maze/test", 9);
        var mazes = Enumerable.Range(0, 4).Select(i => distribution.Level(20 + i)).ToArray();
        var objectives = mazes.Select(m => (IStateEvaluator<MazeState>)TowardCheese(m)).ToArray();
        var states = mazes.Select(m => m.Initial).ToArray();
        var budget = new PlanBudget(Simulations: 24, Seed: 7);
        var batched = ((MctsPlanner<MazeState>)Planners.Create<MazeState>(name)).DecideBatch(states, mazes, objectives, budget);
        var single = (MctsPlanner<MazeState>)Planners.Create<MazeState>(name);
        for (var i = 0; i < mazes.Length; i++)
        {
            var alone = single.DecideBatch([states[i]], [mazes[i]], [objectives[i]], budget, firstRootIndex: i)[0];
            Assert.Equal(batched[i].Action, alone.Action);
            Assert.Equal(batched[i].VisitDistribution, alone.VisitDistribution);
            Assert.Equal(batched[i].PolicyTarget, alone.PolicyTarget);
            Assert.Equal(batched[i].Value, alone.Value);
            Assert.Equal(batched[i].PlanActions, alone.PlanActions);
        }
    }

    [Fact]
    public void Shared_objective_is_evaluated_once_per_wave()
    {
        var maze = TaskDistributions.Maze("maze/test", 9).Level(1);
        var objective = TowardCheese(maze);
        var planner = MctsPlanner<MazeState>.Gumbel();
        var states = Enumerable.Repeat(maze.Initial, 8).ToArray();
        planner.DecideBatch(states, Enumerable.Repeat<IEnvironment<MazeState>>(maze, 8).ToArray(),
            Enumerable.Repeat<IStateEvaluator<MazeState>>(objective, 8).ToArray(), new PlanBudget(Simulations: 16));
        // One call for the roots, at most one per simulation wave.
        Assert.InRange(objective.Calls, 2, 17);
    }

    [Fact]
    public void Decision_carries_visits_policy_target_and_an_exportable_tree()
    {
        var maze = TaskDistributions.Maze("maze/test", 7).Level(3);
        var decision = Planners.Create<MazeState>("mcts").Decide(maze.Initial, maze, TowardCheese(maze), new PlanBudget(Simulations: 20, KeepTree: true));
        Assert.Equal(5, decision.VisitDistribution!.Count);
        Assert.Equal(1.0, decision.VisitDistribution.Sum(), 5);
        Assert.Equal(1.0, decision.PolicyTarget!.Sum(), 5);
        Assert.False(decision.Complete);
        Assert.Equal(decision.Action, decision.PlanActions[0]);
        using var json = JsonDocument.Parse(decision.Tree!.ToJson());
        var nodes = json.RootElement.GetProperty("nodes");
        Assert.InRange(nodes.GetArrayLength(), 2, 21);
        Assert.Equal(21, nodes[0].GetProperty("visits").GetInt32());
    }
}
