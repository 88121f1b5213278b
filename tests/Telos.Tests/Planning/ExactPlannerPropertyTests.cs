using CsCheck;
using Telos.Environments;
using Telos.Planning;

namespace Telos.Tests.Planning;

public sealed class ExactPlannerPropertyTests
{
    /// <summary>
    /// On random mazes (odd sizes 3..15) with a random target cell valued 1 (0 elsewhere), every
    /// exact planner ends where an independent BFS says it should, by a path of the BFS length:
    /// on the target if it can be reached without passing the (terminal) cheese, else at the start.
    /// </summary>
    [Fact]
    public void Exact_planners_match_an_independent_bfs_on_random_mazes()
    {
        Gen.Select(Gen.Int[1, 7].Select(k => 2 * k + 1), Gen.Int[0, 100_000], Gen.Int[0, 1_000_000]).Sample((size, seed, pick) =>
        {
            var maze = TaskDistributions.Maze("maze/test", size).Level(seed);
            var open = Enumerable.Range(0, size * size).Where(maze.IsOpen).ToArray();
            var target = open[pick % open.Length];
            var distance = BlockedDistances(maze, maze.Start)[target];
            var objective = new FunctionObjective<MazeState>(s => s.Cell == target ? 1 : 0);
            foreach (var name in new[] { "bfs", "astar", "dijkstra", "vi" })
            {
                var outcome = MazePlanning.Plan(maze, objective, name);
                if (target == maze.Start || distance < 0)
                {
                    Assert.Equal(0, outcome.Steps);
                    Assert.True(outcome.Halted);
                }
                else
                {
                    Assert.Equal(target, outcome.Cells[^1]);
                    Assert.Equal(distance, outcome.Steps);
                }
            }
        }, iter: 40);
    }

    /// <summary>BFS over open cells that does not pass through the cheese (entering it ends the episode); −1 = unreachable.</summary>
    private static int[] BlockedDistances(Maze maze, int source)
    {
        var n = maze.Size;
        var dist = Enumerable.Repeat(-1, n * n).ToArray();
        var queue = new Queue<int>();
        dist[source] = 0;
        queue.Enqueue(source);
        while (queue.Count > 0)
        {
            var c = queue.Dequeue();
            if (c == maze.Cheese)
            {
                continue;
            }
            int r = c / n, col = c % n;
            foreach (var (dr, dc) in new[] { (-1, 0), (1, 0), (0, -1), (0, 1) })
            {
                int nr = r + dr, nc = col + dc;
                if (nr < 0 || nc < 0 || nr >= n || nc >= n || !maze.IsOpen(nr * n + nc) || dist[nr * n + nc] >= 0)
                {
                    continue;
                }
                dist[nr * n + nc] = dist[c] + 1;
                queue.Enqueue(nr * n + nc);
            }
        }
        return dist;
    }
}
