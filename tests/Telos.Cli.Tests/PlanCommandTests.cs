using System.Text.Json;
using Telos.Environments;
using Telos.Objectives;

namespace Telos.Cli.Tests;

public sealed class PlanCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("telos-plan-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private (int Code, string Output, string Error) Run(params string[] args) => CliHarness.RunIn(Path.Combine(_folder, "runs"), args);

    [Fact]
    public void Bfs_with_the_corner_proxy_ends_at_the_corner_by_a_shortest_path()
    {
        var (code, output, error) = Run("plan", "--env", "maze/test", "--seed", "3", "--objective", "corner", "--planner", "bfs", "--json");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        var maze = TaskDistributions.Maze("maze/test").Level(3);
        Assert.NotEqual(maze.Cheese, maze.Corner);
        Assert.True(root.GetProperty("proxy").GetBoolean());
        Assert.False(root.GetProperty("success").GetBoolean());
        Assert.Equal("corner", root.GetProperty("ending").GetString());
        Assert.Equal(maze.PathDistanceToCorner(maze.Start), root.GetProperty("steps").GetInt32());
        Assert.Equal(root.GetProperty("steps").GetInt32(), root.GetProperty("trace").GetProperty("steps").GetArrayLength());
    }

    [Fact]
    public void Text_output_draws_the_path_and_explains_it()
    {
        var (code, output, _) = Run("plan", "--env", "maze/train", "--seed", "1", "--size", "9", "--planner", "vi");
        Assert.Equal(0, code);
        Assert.Contains("reached the goal (cheese)", output);
        Assert.Contains("S", output);
        Assert.Contains("*", output); // the mouse on the cheese
        Assert.Matches(@"why: at_cheese \+10(?![0-9.])", output); // +10 exactly, not +100 or +10.5
    }

    [Theory]
    [InlineData("mcts")]
    [InlineData("gumbel")]
    public void Objective_card_file_drives_the_mcts_planners_and_the_tree_is_written(string planner)
    {
        var card = ObjectiveCard.Linear([new("at_cheese", 10), new("path_dist_to_cheese", -1)]);
        var cardPath = Path.Combine(_folder, "objective.json");
        ObjectiveCardFile.Save(card, cardPath);
        var treePath = Path.Combine(_folder, "tree.json");
        var (code, output, error) = Run("plan", "--env", "maze/test", "--seed", "2", "--size", "9", "--objective", cardPath,
            "--planner", planner, "--sims", "16", "--tree", treePath, "--json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        Assert.True(json.RootElement.GetProperty("success").GetBoolean());
        Assert.Equal("cheese", json.RootElement.GetProperty("ending").GetString());
        using var tree = JsonDocument.Parse(File.ReadAllText(treePath));
        Assert.Equal(planner, tree.RootElement.GetProperty("planner").GetString());
        Assert.InRange(tree.RootElement.GetProperty("nodes").GetArrayLength(), 2, 17);
    }

    [Fact]
    public void The_written_tree_is_the_tree_of_the_decision_that_chose_the_first_action()
    {
        // Keys & chests rooms: the start has four moves and halting, so Gumbel's noise shapes the tree.
        var card = ObjectiveCard.Linear([new("chests_opened", 1), new("keys_held", 0.5), new("dist_to_nearest_key", -0.1)]);
        var cardPath = Path.Combine(_folder, "dense.json");
        ObjectiveCardFile.Save(card, cardPath);
        var objective = Telos.Agents.AgentObjective<KeysAndChestsState>.FromCard(card);
        var checkedSeeds = 0;
        for (var levelSeed = 0; levelSeed < 6; levelSeed++)
        {
            var treePath = Path.Combine(_folder, $"gumbel-tree-{levelSeed}.json");
            var (code, output, error) = Run("plan", "--env", "kc/test", "--seed", $"{levelSeed}", "--size", "5", "--planner", "gumbel", "--sims", "32",
                "--search-seed", "11", "--objective", cardPath, "--tree", treePath, "--json");
            Assert.True(code == 0, error);
            // Decision 0 of the episode searched with Derive(episode seed, "decision/0"); replayed, it writes the same tree.
            var level = TaskDistributions.KeysAndChests("kc/test", 5).Level(levelSeed);
            Telos.Planning.PlanDecision<KeysAndChestsState> Decide(ulong seed) => Telos.Planning.Planners.Create("gumbel", KeysAndChestsFamily.Instance)
                .Decide(level.Initial, level, objective.Bind(level), new Telos.Planning.PlanBudget(Simulations: 32, Seed: seed, KeepTree: true));
            var decision = Decide(Telos.Randomness.Seeds.Derive(Telos.Agents.AgentEvaluation.EpisodeSeed(11, levelSeed), "decision/0"));
            var written = File.ReadAllText(treePath);
            Assert.Equal(decision.Tree!.ToJson(), written);
            using var json = JsonDocument.Parse(output);
            var actions = json.RootElement.GetProperty("actions");
            Assert.Equal(decision.Halts ? [] : [KeysAndChestsFamily.Instance.ActionNames[decision.Action]], actions.EnumerateArray().Take(1).Select(a => a.GetString()));
            // Where the seed matters, a search with the evaluation seed itself (not the decision's) grows another tree.
            if (Decide(11).Tree!.ToJson() != written)
            {
                checkedSeeds++;
            }
        }
        Assert.True(checkedSeeds > 0, "no level where the search's seed changes the tree: the test would not tell the seeds apart");
    }

    [Theory]
    [InlineData("bfs")]
    [InlineData("astar")]
    [InlineData("vi")]
    public void Keys_and_chests_plans_go_through_the_same_path(string planner)
    {
        // The true reward (chests opened) on kc/test: every chest can be opened, so a planner that
        // reaches the goal opens them all and collects the family's return of one per chest.
        var (code, output, error) = Run("plan", "--env", "kc/test", "--seed", "4", "--size", "5", "--planner", planner, "--json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        var level = TaskDistributions.KeysAndChests("kc/test", 5).Level(4);
        Assert.Equal("chests", root.GetProperty("goal").GetString());
        Assert.True(root.GetProperty("success").GetBoolean(), output);
        Assert.Equal(level.Chests.Length, root.GetProperty("return").GetDouble());
        Assert.Equal(root.GetProperty("steps").GetInt32() + 1, root.GetProperty("cells").GetArrayLength());
        Assert.Equal(root.GetProperty("steps").GetInt32(), root.GetProperty("trace").GetProperty("steps").GetArrayLength());
    }

    [Fact]
    public void A_room_too_large_to_enumerate_plans_by_tree_search_and_refuses_exact_planners()
    {
        // 16 keys and 8 chests in a 25×25 room: 625·2^24 states. MCTS needs no state index; the
        // evaluation then reports no ceiling instead of enumerating, and BFS is refused as input.
        var (code, output, error) = Run("plan", "--env", "kc/test", "--size", "25", "--max-minority", "8", "--planner", "mcts", "--sims", "8", "--json");
        Assert.True(code == 0, error);
        Assert.Equal("chests", JsonDocument.Parse(output).RootElement.GetProperty("goal").GetString());
        (code, _, error) = Run("plan", "--env", "kc/test", "--size", "25", "--max-minority", "8", "--planner", "bfs");
        Assert.Equal(2, code);
        Assert.Contains("too many items to enumerate; use a tree-search planner", error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public void Keys_proxy_on_kc_test_picks_up_every_key()
    {
        var (code, output, error) = Run("plan", "--env", "kc/test", "--seed", "4", "--size", "5", "--objective", "keys", "--json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("keys", json.RootElement.GetProperty("proxy_goal").GetString());
        Assert.True(json.RootElement.GetProperty("proxy").GetBoolean(), output);
    }

    [Theory]
    [InlineData("maze")]
    [InlineData("synthetic")]
    public void Bench_prints_the_three_fields(string model)
    {
        var (code, output, error) = Run("plan", "bench", "--planner", "gumbel", "--batch", "8", "--sims", "8", "--repeats", "1", "--model", model, "--json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        Assert.Equal("gumbel", json.RootElement.GetProperty("planner").GetString());
        Assert.True(json.RootElement.GetProperty("sims_per_second").GetDouble() > 0);
        Assert.InRange(json.RootElement.GetProperty("eval_fraction").GetDouble(), 0, 1);
    }

    [Theory]
    [InlineData("unknown planner 'rrt'", "plan", "--planner", "rrt")]
    [InlineData("objective file", "plan", "--objective", "/no/such/objective.json")]
    [InlineData("unknown task distribution 'kc/nope'", "plan", "--env", "kc/nope")]
    [InlineData("kc reference: true", "plan", "--env", "kc/train", "--objective", "corner")]
    [InlineData("maze size 8", "plan", "--size", "8")]
    [InlineData("discount", "plan", "--planner", "vi", "--discount", "1")]
    [InlineData("exact", "plan", "bench", "--planner", "bfs")]
    [InlineData("unknown bench model", "plan", "bench", "--model", "gpu")]
    public void Bad_input_is_one_line_and_exit_2(string expected, params string[] args)
    {
        var treePath = Path.Combine(_folder, "never.json");
        var (code, output, error) = Run(args[1] == "bench" ? args : [.. args, "--tree", treePath]);
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(treePath));
        Assert.DoesNotContain("at Telos", output + error);
    }
}
