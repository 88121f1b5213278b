using CsCheck;
using Telos.Environments;

namespace Telos.Tests.Environments;

public sealed class MazeTests
{
    // Odd sizes 3..25 as 2k+1, k in 1..12.
    private static readonly Gen<int> Sizes = Gen.Int[1, 12].Select(k => 2 * k + 1);
    private static readonly Gen<long> LevelSeeds = Gen.Long[0, 1_000_000_000];

    [Fact]
    public void Every_generated_maze_is_perfect()
    {
        Gen.Select(Sizes, LevelSeeds).Sample((size, seed) =>
        {
            var maze = TaskDistributions.Maze("maze/test", size).Level(seed);
            var open = maze.OpenCells.ToArray();
            var vertices = open.Count(o => o);
            var edges = 0;
            for (var cell = 0; cell < open.Length; cell++)
            {
                if (!open[cell])
                {
                    continue;
                }
                if (cell % size < size - 1 && open[cell + 1])
                {
                    edges++;
                }
                if (cell / size < size - 1 && open[cell + size])
                {
                    edges++;
                }
            }
            var reachable = IndependentBfs(open, size, maze.Start).Count(d => d >= 0);
            // A connected graph with V − 1 edges is a tree: connected and acyclic.
            Assert.Equal(vertices, reachable);
            Assert.Equal(vertices - 1, edges);
        }, iter: 200);
    }

    [Fact]
    public void Cheese_is_on_an_open_cell_inside_the_declared_region()
    {
        Gen.Select(Sizes, Gen.Int[1, 25], LevelSeeds).Sample((size, region, seed) =>
        {
            region = Math.Min(region, size);
            var distribution = TaskDistributions.Maze("maze/train", size, region);
            var maze = distribution.Level(seed);
            Assert.True(maze.IsOpen(maze.Cheese));
            Assert.NotEqual(maze.Start, maze.Cheese);
            Assert.True(maze.Cheese / size < region, $"row {maze.Cheese / size} outside region {region}");
            Assert.True(maze.Cheese % size >= size - region, $"column {maze.Cheese % size} outside region {region}");
        }, iter: 300);
    }

    [Fact]
    public void Region_one_puts_the_cheese_on_the_corner()
    {
        var maze = TaskDistributions.Maze("maze/train", 13).Level(5);
        Assert.Equal(12, maze.Cheese);
        Assert.Equal(maze.Corner, maze.Cheese);
    }

    [Fact]
    public void Far_cheese_is_at_least_k_steps_from_the_corner()
    {
        Gen.Select(Sizes, LevelSeeds).Sample((size, seed) =>
        {
            var k = 2 * size - 3;
            var maze = TaskDistributions.Maze("maze/far", size, minCornerDistance: k).Level(seed);
            Assert.True(maze.PathDistanceToCorner(maze.Cheese) >= k);
            Assert.True(maze.IsOpen(maze.Cheese));
        }, iter: 200);
    }

    [Fact]
    public void Test_distribution_spreads_the_cheese_over_the_maze()
    {
        var distribution = TaskDistributions.Maze("maze/test", 7);
        var cells = Enumerable.Range(0, 400).Select(s => distribution.Level(s).Cheese).ToHashSet();
        var open = distribution.Level(0).OpenCells.ToArray().Count(o => o);
        // 16 rooms always open plus carved walls; 400 draws over ~30 cells should hit more than 20 distinct cells.
        Assert.True(cells.Count > 20, $"only {cells.Count} distinct cheese cells of about {open}");
    }

    [Fact]
    public void Path_distance_features_equal_an_independent_bfs()
    {
        var schema = Maze.FeatureNames;
        Gen.Select(Sizes, LevelSeeds, Gen.Int[0, 2]).Sample((size, seed, kind) =>
        {
            var name = kind switch { 0 => "maze/train", 1 => "maze/test", _ => "maze/far" };
            var maze = TaskDistributions.Maze(name, size, region: Math.Min(3, size)).Level(seed);
            var open = maze.OpenCells.ToArray();
            var toCheese = IndependentBfs(open, size, maze.Cheese);
            var toCorner = IndependentBfs(open, size, size - 1);
            var features = new double[schema.Count];
            for (var cell = 0; cell < open.Length; cell++)
            {
                if (!open[cell])
                {
                    continue;
                }
                maze.WriteFeatures(new MazeState(cell, 0), features);
                Assert.Equal(toCheese[cell], features[schema.Require("path_dist_to_cheese")]);
                Assert.Equal(toCorner[cell], features[schema.Require("path_dist_to_corner")]);
                Assert.Equal(cell == maze.Cheese ? 1 : 0, features[schema.Require("at_cheese")]);
                Assert.Equal(cell == size - 1 ? 1 : 0, features[schema.Require("at_corner")]);
                var (row, column) = (cell / size, cell % size);
                Assert.Equal(column, features[schema.Require("x")]);
                Assert.Equal(size - 1 - row, features[schema.Require("y")]);
                Assert.Equal(Math.Sqrt(row * row + (size - 1 - column) * (size - 1 - column)), features[schema.Require("euclid_dist_to_corner")], 12);
                var (cr, cc) = (maze.Cheese / size, maze.Cheese % size);
                Assert.Equal(Math.Sqrt((row - cr) * (row - cr) + (column - cc) * (column - cc)), features[schema.Require("euclid_dist_to_cheese")], 12);
            }
        }, iter: 100);
    }

    [Fact]
    public void Feature_names_are_the_ones_objectives_bind_to()
    {
        Assert.Equal(
            ["at_cheese", "path_dist_to_cheese", "path_dist_to_corner", "euclid_dist_to_cheese", "euclid_dist_to_corner", "at_corner", "x", "y"],
            Maze.FeatureNames.Names);
    }

    [Fact]
    public void Walking_the_shortest_path_reaches_the_cheese_with_reward_ten()
    {
        var maze = TaskDistributions.Maze("maze/test", 13).Level(42);
        var state = maze.Initial;
        var total = 0f;
        var legal = new bool[4];
        for (var t = 0; t < maze.PathDistanceToCheese(maze.Start); t++)
        {
            maze.LegalActions(state, legal);
            var action = Enumerable.Range(0, 4).First(a => legal[a] && maze.PathDistanceToCheese(maze.Neighbour(state.Cell, a)) == maze.PathDistanceToCheese(state.Cell) - 1);
            var step = maze.Step(state, action);
            total += step.Reward;
            Assert.Equal(step.Next.Cell == maze.Cheese, step.Terminated);
            Assert.False(step.Truncated);
            state = step.Next;
        }
        Assert.Equal(maze.Cheese, state.Cell);
        Assert.Equal(Maze.CheeseReward, total);
        // The cheese is absorbing.
        var after = maze.Step(state, Maze.Up);
        Assert.Equal(state, after.Next);
        Assert.True(after.Terminated);
        Assert.Equal(0f, after.Reward);
    }

    [Fact]
    public void Bumping_a_wall_keeps_the_cell_counts_the_step_and_truncates_at_the_limit()
    {
        var maze = Maze.Parse("""
            ..C
            .##
            ...
            """, stepLimit: 3);
        var state = maze.Initial;
        Assert.Equal(6, state.Cell);
        var legal = new bool[4];
        maze.LegalActions(state, legal);
        Assert.Equal([true, true, false, false], legal);
        var r1 = maze.Step(state, Maze.Left);
        Assert.Equal(new MazeState(6, 1), r1.Next);
        var r2 = maze.Step(r1.Next, Maze.Down);
        Assert.False(r2.Done);
        var r3 = maze.Step(r2.Next, Maze.Left);
        Assert.True(r3.Truncated);
        Assert.False(r3.Terminated);
        Assert.Equal(4, maze.PathDistanceToCheese(6));
        Assert.Equal("..C\n.##\nM..\n", maze.Render(maze.Initial));
    }

    [Fact]
    public void Single_steps_features_and_observations_allocate_nothing()
    {
        var maze = TaskDistributions.Maze("maze/test", 13).Level(1);
        var kc = TaskDistributions.KeysAndChests("kc/train").Level(1);
        var features = new double[8];
        var observation = new float[4 * 13 * 13];
        var legal = new bool[4];
        var (m, k) = (maze.Initial, kc.Initial);
        maze.Step(m, 0);
        kc.Step(k, 0);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var t = 0; t < 5000; t++)
        {
            var r = maze.Step(m, t & 3);
            m = r.Done ? maze.Initial : r.Next;
            maze.WriteFeatures(m, features);
            maze.LegalActions(m, legal);
            maze.WriteObservation(m, observation);
            var q = kc.Step(k, (t >> 1) & 3);
            k = q.Done ? kc.Initial : q.Next;
            kc.WriteFeatures(k, features);
            kc.WriteObservation(k, observation);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void State_index_round_trips_over_open_cells()
    {
        var maze = TaskDistributions.Maze("maze/test", 9).Level(3);
        Assert.Equal(maze.OpenCells.ToArray().Count(o => o), maze.StateCount);
        for (var i = 0; i < maze.StateCount; i++)
        {
            var state = maze.StateAt(i);
            Assert.True(maze.IsOpen(state.Cell));
            Assert.Equal(i, maze.IndexOf(state));
            Assert.Equal(i, maze.IndexOf(state with { Steps = 17 }));
        }
    }

    [Fact]
    public void Same_seed_same_level_and_train_test_share_walls()
    {
        var a = TaskDistributions.Maze("maze/train", 11).Level(99);
        var b = TaskDistributions.Maze("maze/train", 11).Level(99);
        var c = TaskDistributions.Maze("maze/test", 11).Level(99);
        Assert.Equal(a.Render(a.Initial), b.Render(b.Initial));
        Assert.True(a.OpenCells.SequenceEqual(c.OpenCells));
        Assert.NotEqual(a.Render(a.Initial), TaskDistributions.Maze("maze/train", 11).Level(100).Render(a.Initial));
    }

    [Fact]
    public void Levels_are_pinned_across_machines_and_versions()
    {
        // Golden levels: a change to Rng, Seeds, Kruskal or the cheese and item draws changes every
        // level of every distribution, so it must be deliberate (and announced: it moves results).
        var maze = TaskDistributions.Maze("maze/test", 7).Level(2024);
        Assert.Equal("....C..\n.###.#.\n...#.#.\n.###.#.\n...#.#.\n##.###.\nM....#.\n", maze.Render(maze.Initial));
        var kc = TaskDistributions.KeysAndChests("kc/test", 5).Level(2024);
        Assert.Equal("....k\n...ck\nAk...\n...c.\n.k...\nkeys held: 0\n", kc.Render(kc.Initial));
    }

    [Theory]
    [InlineData("maze/nope", 13, 1, "unknown task distribution 'maze/nope'")]
    [InlineData("maze/test", 12, 1, "maze size 12")]
    [InlineData("maze/test", 1, 1, "maze size 1")]
    [InlineData("maze/test", 27, 1, "maze size 27")]
    [InlineData("maze/train", 13, 14, "cheese region 14")]
    [InlineData("maze/train", 13, 0, "cheese region 0")]
    public void Bad_parameters_are_input_errors(string name, int size, int region, string message)
    {
        var e = Assert.Throws<TelosInputException>(() => TaskDistributions.Maze(name, size, region));
        // The number must end where the message's does: "maze size 1" is also the start of "maze size 13".
        Assert.Matches(System.Text.RegularExpressions.Regex.Escape(message) + "(?![0-9])", e.Message);
    }

    [Fact]
    public void Negative_seed_is_an_input_error()
    {
        var e = Assert.Throws<TelosInputException>(() => TaskDistributions.Maze("maze/test").Level(-1));
        Assert.Matches(@"seed -1(?![0-9])", e.Message);
    }

    /// <summary>BFS over a boolean grid by coordinates, written without the Maze class.</summary>
    internal static int[] IndependentBfs(bool[] open, int size, int source)
    {
        var distance = Enumerable.Repeat(-1, open.Length).ToArray();
        var queue = new Queue<(int Row, int Column)>();
        distance[source] = 0;
        queue.Enqueue((source / size, source % size));
        (int, int)[] moves = [(-1, 0), (1, 0), (0, -1), (0, 1)];
        while (queue.Count > 0)
        {
            var (r, c) = queue.Dequeue();
            foreach (var (dr, dc) in moves)
            {
                var (nr, nc) = (r + dr, c + dc);
                if (nr < 0 || nc < 0 || nr >= size || nc >= size || !open[nr * size + nc] || distance[nr * size + nc] >= 0)
                {
                    continue;
                }
                distance[nr * size + nc] = distance[r * size + c] + 1;
                queue.Enqueue((nr, nc));
            }
        }
        return distance;
    }
}
