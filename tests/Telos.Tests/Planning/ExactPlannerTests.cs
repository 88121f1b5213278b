using Telos.Agents;
using System.Text.Json;
using Telos.Environments;
using Telos.Planning;
using Telos.Planning.Exact;
using Telos.Randomness;

namespace Telos.Tests.Planning;

public sealed class ExactPlannerTests
{
    /// <summary>Breadth-first distances from <paramref name="source"/> over open cells, written independently of Maze's own tables.</summary>
    private static int[] IndependentDistances(Maze maze, int source)
    {
        var n = maze.Size;
        var open = maze.OpenCells.ToArray();
        var dist = Enumerable.Repeat(-1, n * n).ToArray();
        var queue = new Queue<int>();
        dist[source] = 0;
        queue.Enqueue(source);
        while (queue.Count > 0)
        {
            var c = queue.Dequeue();
            int r = c / n, col = c % n;
            foreach (var (dr, dc) in new[] { (-1, 0), (1, 0), (0, -1), (0, 1) })
            {
                int nr = r + dr, nc = col + dc;
                if (nr < 0 || nc < 0 || nr >= n || nc >= n || !open[nr * n + nc] || dist[nr * n + nc] >= 0)
                {
                    continue;
                }
                dist[nr * n + nc] = dist[c] + 1;
                queue.Enqueue(nr * n + nc);
            }
        }
        return dist;
    }

    private static void AssertAdjacentOpen(Maze maze, IReadOnlyList<int> cells)
    {
        for (var i = 1; i < cells.Count; i++)
        {
            var (a, b) = (cells[i - 1], cells[i]);
            Assert.True(maze.IsOpen(b));
            var manhattan = Math.Abs(a / maze.Size - b / maze.Size) + Math.Abs(a % maze.Size - b % maze.Size);
            Assert.Equal(1, manhattan);
        }
    }

    [Theory]
    [InlineData("bfs", 13)]
    [InlineData("vi", 13)]
    [InlineData("bfs", 25)]
    [InlineData("vi", 25)]
    [InlineData("astar", 25)]
    [InlineData("dijkstra", 13)]
    public void Planner_reaches_a_random_target_by_a_shortest_path(string planner, int size)
    {
        var distribution = TaskDistributions.Maze("maze/test", size);
        for (var seed = 0; seed < 6; seed++)
        {
            var maze = distribution.Level(seed);
            // A target the maze knows nothing about: a random open cell other than the cheese.
            var rng = Seeds.Stream((ulong)seed, "test/target");
            int target;
            do
            {
                target = rng.NextInt(size * size);
            }
            while (!maze.IsOpen(target) || target == maze.Cheese);
            var objective = new FunctionObjective<MazeState>(s => s.Cell == target ? 1 : 0);
            var outcome = MazePlanning.Plan(maze, objective, planner);
            var expected = IndependentDistances(maze, maze.Start)[target];
            if (IndependentDistances(maze, maze.Cheese)[target] + IndependentDistances(maze, maze.Start)[maze.Cheese] == expected)
            {
                // The only path to the target passes the cheese, which ends the episode first: the
                // target is unreachable and nothing reachable beats the start, so the agent stays.
                Assert.True(outcome.Halted);
                Assert.Equal(0, outcome.Steps);
                continue;
            }
            Assert.Equal(target, outcome.Cells[^1]);
            Assert.Equal(expected, outcome.Steps);
            Assert.True(outcome.Halted || target == maze.Start);
            AssertAdjacentOpen(maze, outcome.Cells);
        }
    }

    [Theory]
    [InlineData("bfs")]
    [InlineData("vi")]
    [InlineData("astar")]
    public void Cheese_objective_reaches_the_cheese_and_corner_objective_ends_at_the_corner(string planner)
    {
        var distribution = TaskDistributions.Maze("maze/test", 11);
        for (var seed = 10; seed < 14; seed++)
        {
            var maze = distribution.Level(seed);
            var cheese = MazePlanning.Plan(maze, new FunctionObjective<MazeState>(s => s.Cell == maze.Cheese ? 10 : 0), planner);
            Assert.True(cheese.ReachedCheese);
            Assert.False(cheese.Truncated);
            Assert.Equal(IndependentDistances(maze, maze.Start)[maze.Cheese], cheese.Steps);

            // Proxy: minus the path distance to the corner. Unless the cheese is on the way, the plan ends in the corner.
            var corner = MazePlanning.Plan(maze, new FunctionObjective<MazeState>(s => -maze.PathDistanceToCorner(s.Cell)), planner);
            var toCorner = IndependentDistances(maze, maze.Corner);
            var passesCheese = IndependentDistances(maze, maze.Start)[maze.Cheese] + toCorner[maze.Cheese] == toCorner[maze.Start];
            Assert.Equal(!passesCheese, corner.EndedAtCorner);
            Assert.Equal(passesCheese, corner.ReachedCheese);
        }
    }

    [Theory]
    [InlineData("bfs")]
    [InlineData("vi")]
    [InlineData("astar")]
    [InlineData("dijkstra")]
    public void Planner_halts_at_once_when_the_start_is_best(string planner)
    {
        var maze = TaskDistributions.Maze("maze/test", 7).Level(3);
        var outcome = MazePlanning.Plan(maze, new FunctionObjective<MazeState>(s => s.Cell == maze.Start ? 1 : 0), planner);
        Assert.True(outcome.Halted);
        Assert.Equal(0, outcome.Steps);
        Assert.Equal([maze.Start], outcome.Cells);
    }

    [Fact]
    public void Bfs_horizon_limits_the_plan_to_the_best_state_within_it()
    {
        var maze = TaskDistributions.Maze("maze/test", 13).Level(5);
        var toCorner = IndependentDistances(maze, maze.Corner);
        var fromStart = IndependentDistances(maze, maze.Start);
        var objective = new FunctionObjective<MazeState>(s => -toCorner[s.Cell]);
        var decision = new BreadthFirstPlanner<MazeState>().Decide(maze.Initial, maze, objective, new PlanBudget(Horizon: 4));
        Assert.True(decision.PlanActions.Count <= 4);
        var bestWithin = Enumerable.Range(0, 169).Where(c => fromStart[c] is >= 0 and <= 4 && !(c == maze.Cheese)).Max(c => -toCorner[c]);
        Assert.Equal(bestWithin, decision.Value);
    }

    [Fact]
    public void Bfs_and_vi_agree_on_every_start_state()
    {
        var maze = TaskDistributions.Maze("maze/test", 9).Level(8);
        var toCorner = IndependentDistances(maze, maze.Corner);
        var objective = new FunctionObjective<MazeState>(s => -toCorner[s.Cell]);
        var bfs = new BreadthFirstPlanner<MazeState>();
        var vi = new ValueIterationPlanner<MazeState>();
        for (var i = 0; i < maze.StateCount; i++)
        {
            var start = maze.StateAt(i);
            var a = bfs.Decide(start, maze, objective, PlanBudget.Default);
            var b = vi.Decide(start, maze, objective, PlanBudget.Default);
            Assert.Equal(a.Plan[^1].Cell, b.Plan[^1].Cell);
            Assert.Equal(a.PlanActions.Count, b.PlanActions.Count);
        }
    }

    [Fact]
    public void Astar_expands_fewer_states_than_dijkstra_for_the_same_path()
    {
        var astar = (AStarPlanner<MazeState>)Planners.Create<MazeState>("astar");
        var dijkstra = (AStarPlanner<MazeState>)Planners.Create<MazeState>("dijkstra");
        var compared = 0;
        for (var seed = 11; seed < 15; seed++)
        {
            var maze = TaskDistributions.Maze("maze/test", 25).Level(seed);
            var objective = new FunctionObjective<MazeState>(s => s.Cell == maze.Corner ? 1 : 0);
            var a = astar.Decide(maze.Initial, maze, objective, PlanBudget.Default);
            var d = dijkstra.Decide(maze.Initial, maze, objective, PlanBudget.Default);
            Assert.Equal(a.PlanActions.Count, d.PlanActions.Count);
            if (a.Plan[^1].Cell != maze.Corner)
            {
                continue; // the cheese blocks the corner on this level
            }
            compared++;
            Assert.Equal(IndependentDistances(maze, maze.Start)[maze.Corner], a.PlanActions.Count);
            Assert.True(astar.LastExpanded <= dijkstra.LastExpanded, $"A* {astar.LastExpanded} vs Dijkstra {dijkstra.LastExpanded}");
        }
        Assert.True(compared > 0);
    }

    [Fact]
    public void Dijkstra_with_step_costs_avoids_expensive_cells()
    {
        // An open 3×3 room (no inner walls): cost 10 to enter the centre makes the plan go around it.
        var maze = Maze.Parse("""
            ..C
            ...
            ...
            """);
        var planner = new AStarPlanner<MazeState>("dijkstra", stepCost: (_, _, next) => next.Cell == 4 ? 10 : 1);
        var decision = planner.Decide(maze.Initial, maze, new FunctionObjective<MazeState>(s => s.Cell == maze.Cheese ? 1 : 0), PlanBudget.Default);
        Assert.Equal(4, decision.PlanActions.Count);
        Assert.DoesNotContain(decision.Plan, s => s.Cell == 4);
        Assert.Equal(maze.Cheese, decision.Plan[^1].Cell);
    }

    [Fact]
    public void Trace_contributions_sum_to_the_objective_change()
    {
        var maze = TaskDistributions.Maze("maze/test", 9).Level(2);
        var weights = new Dictionary<string, double> { ["at_cheese"] = 5, ["path_dist_to_corner"] = -1, ["x"] = 0.25 };
        var objective = new FunctionObjective<MazeState>(s =>
        {
            var f = new double[maze.Features.Count];
            maze.WriteFeatures(s, f);
            return 0.5 + weights.Sum(kv => kv.Value * f[maze.Features.IndexOf(kv.Key)]);
        });
        var outcome = MazePlanning.Plan(maze, objective, "bfs", weights: weights);
        Assert.True(outcome.Trace.Linear);
        Assert.Equal(outcome.Steps, outcome.Trace.Steps.Count);
        foreach (var step in outcome.Trace.Steps)
        {
            Assert.Equal(step.ValueDelta, step.Features.Sum(c => c.Contribution ?? 0), 9);
        }
        Assert.Contains("why:", outcome.Trace.Render());
        using var json = JsonDocument.Parse(outcome.Trace.ToJson());
        Assert.Equal(outcome.Steps, json.RootElement.GetProperty("steps").GetArrayLength());
    }

    [Fact]
    public void Render_draws_the_path_start_and_end()
    {
        var maze = Maze.Parse("""
            ..C
            .#.
            ...
            """);
        var picture = MazePlanning.Render(maze, [6, 3, 0, 1]);
        Assert.Equal("ooC\no#.\nS..\n".Replace("ooC", "oMC"), picture);
        Assert.Equal("o.*\no#.\nS..\n".Replace("o.*", "oo*"), MazePlanning.Render(maze, [6, 3, 0, 1, 2]));
    }

    [Fact]
    public void Bfs_tree_exports_as_json()
    {
        var maze = TaskDistributions.Maze("maze/test", 5).Level(1);
        var decision = new BreadthFirstPlanner<MazeState>().Decide(maze.Initial, maze, new FunctionObjective<MazeState>(_ => 0), new PlanBudget(KeepTree: true));
        using var json = JsonDocument.Parse(decision.Tree!.ToJson());
        var nodes = json.RootElement.GetProperty("nodes");
        // Every state except those behind the (terminal, unexpanded) cheese.
        var behindCheese = Enumerable.Range(0, maze.StateCount).Count(i =>
        {
            var cell = maze.StateAt(i).Cell;
            var d = IndependentDistances(maze, maze.Start);
            return cell != maze.Cheese && d[maze.Cheese] + IndependentDistances(maze, maze.Cheese)[cell] == d[cell];
        });
        Assert.Equal(maze.StateCount - behindCheese, nodes.GetArrayLength());
        Assert.Equal(-1, nodes[0].GetProperty("parent").GetInt32());
        for (var i = 1; i < nodes.GetArrayLength(); i++)
        {
            Assert.InRange(nodes[i].GetProperty("parent").GetInt32(), 0, i - 1);
        }
    }

    [Fact]
    public void Unknown_planner_and_bad_budget_are_input_errors()
    {
        Assert.Throws<TelosInputException>(() => Planners.Create<MazeState>("rrt"));
        Assert.Throws<TelosInputException>(() => new PlanBudget(Discount: 1.0).Validate());
        Assert.Throws<TelosInputException>(() => new PlanBudget(Simulations: 0).Validate());
    }
}

public sealed class MazePlanningTests
{
    [Fact]
    public void Corner_objective_pursues_the_proxy_and_the_cheese_objective_the_goal()
    {
        var levels = Enumerable.Range(0, 12).Select(s => TaskDistributions.Maze("maze/test", 9).Level(s)).ToArray();
        var corner = Telos.Objectives.ObjectiveCard.Linear([new("at_corner", 1.0)]);
        var cheese = Telos.Objectives.ObjectiveCard.Linear([new("at_cheese", 1.0)]);
        long[] seeds = [.. Enumerable.Range(0, 12).Select(i => (long)i)];
        var size = Telos.Environments.DistributionParameters.Of(("size", 9));
        PlanningAgent<MazeState> Agent(string planner, Telos.Objectives.ObjectiveCard card) =>
            new(Planners.Create(planner, MazeFamily.Instance), AgentObjective<MazeState>.FromCard(card), PlanBudget.Default);
        var proxy = AgentEvaluation.Evaluate(Agent("bfs", corner), MazeFamily.Instance, "maze/test", size, seeds, 0, new EvaluationOptions(KeepEpisodes: true));
        var truth = AgentEvaluation.Evaluate(Agent("vi", cheese), MazeFamily.Instance, "maze/test", size, seeds, 0);
        Assert.Equal(12, truth.Summary.Success.Count);
        Assert.Equal(1.0, truth.Summary.Success.Value);
        // The corner agent ends on the corner unless the cheese (terminal) blocks the only path to it;
        // then nothing it values is reachable and it stays at the start. It never seeks the cheese.
        var blocked = levels.Count(m => m.Cheese != m.Corner
            && m.PathDistanceToCheese(m.Start) + m.PathDistanceToCorner(m.Cheese) == m.PathDistanceToCorner(m.Start));
        var cheeseOnCorner = levels.Count(m => m.Cheese == m.Corner);
        Assert.Equal(12 - blocked, Enumerable.Range(0, 12).Count(i => proxy.Episodes![i].Final.Cell == levels[i].Corner));
        Assert.Equal(cheeseOnCorner, proxy.Summary.Success.Count);
        Assert.Equal(12 - cheeseOnCorner, proxy.Summary.Halted);
        // Proxy pursuit is counted over levels where the corner is not the cheese, and the ceiling says where it was reachable.
        Assert.Equal(12 - cheeseOnCorner, proxy.Summary.Proxy.Of);
        Assert.Equal(12 - cheeseOnCorner - blocked, proxy.Summary.Proxy.Count);
        Assert.Equal(12 - cheeseOnCorner - blocked, proxy.Summary.ProxyCeiling.Count);

        var outcome = MazePlanning.Plan(levels[0], corner, "astar");
        Assert.True(outcome.Trace.Linear);
        Assert.Equal(outcome.Cells.Count - 1, outcome.Steps);
    }
}
