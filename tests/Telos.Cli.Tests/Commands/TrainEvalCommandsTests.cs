using System.Text.Json;

namespace Telos.Cli.Tests.Commands;

[Collection("torch")]
public sealed class TrainEvalCommandsTests : IDisposable
{
    // 3 iterations of 4 × 8 steps with --steps 96.
    private const string Tiny = """
        experiment = "ppo"
        eval_episodes = 20
        conv_channels = 4
        features = 16
        lstm_size = 8
        num_envs = 4
        num_steps = 8
        num_minibatches = 2
        update_epochs = 1
        checkpoint_every = 2

        [params]
        step_limit = 10
        """;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-cli-tests", Guid.NewGuid().ToString("N"));

    public TrainEvalCommandsTests() => Directory.CreateDirectory(_folder);

    private string RunsRoot => Path.Combine(_folder, "runs");

    /// <summary>
    /// train ppo makes a run whose config holds the flags' values; eval of that run on maze/test with the
    /// run's seed and eval_episodes gives the counts the run's report gives (one evaluation path).
    /// </summary>
    [Fact]
    public void TrainMakesARunAndEvalReproducesItsReport()
    {
        var config = Write("tiny.toml", Tiny);
        var (code, output, _) = Telos("train", "ppo", "--config", config, "--steps", "96", "--size", "5", "--seed", "3", "--json", "-q");

        Assert.Equal(0, code);
        var run = JsonDocument.Parse(output).RootElement;
        var id = run.GetProperty("id").GetString()!;
        var dir = run.GetProperty("dir").GetString()!;
        Assert.Equal(Path.Combine(RunsRoot, id), dir);
        var resolved = File.ReadAllLines(Path.Combine(dir, "config.toml"));
        Assert.Contains("total_timesteps = 96", resolved);
        Assert.Contains("size = 5", resolved);
        Assert.Contains("seed = 3", resolved);
        Assert.Contains("policy = \"lstm\"", resolved);

        var (evalCode, evalOutput, _) = Telos("eval", "--agent", id, "--env", "maze/test", "--episodes", "20", "--seed", "3", "--json");

        Assert.Equal(0, evalCode);
        var eval = JsonDocument.Parse(evalOutput).RootElement;
        Assert.Equal("size=5 step_limit=10", eval.GetProperty("parameters").GetString()); // the run's, as none were given
        var row = File.ReadAllLines(Path.Combine(dir, "report.md")).Single(l => l.StartsWith("| maze/test | ", StringComparison.Ordinal)).Split('|', StringSplitOptions.TrimEntries);
        Assert.Equal(row[2].Split(' ')[0], $"{eval.GetProperty("successes").GetInt32()}/{eval.GetProperty("episodes").GetInt32()}");
        Assert.Equal(row[3].Split(' ')[0], $"{eval.GetProperty("proxy_episodes").GetInt32()}/{eval.GetProperty("proxy_levels").GetInt32()}");
        Assert.Equal(double.Parse(row[4], System.Globalization.CultureInfo.InvariantCulture), eval.GetProperty("mean_return").GetDouble(), 3);
        Assert.Equal(eval.GetProperty("successes").GetInt32() / 20.0, eval.GetProperty("success").GetDouble(), 6);

        // The directory and the checkpoint file name the same policy.
        var byDir = JsonDocument.Parse(Telos("eval", "--agent", dir, "--env", "maze/test", "--episodes", "20", "--seed", "3", "--json").Output).RootElement;
        var checkpoint = Path.Combine(dir, "checkpoints", "step-0000000096.safetensors");
        var byFile = JsonDocument.Parse(Telos("eval", "--agent", checkpoint, "--env", "maze/test", "--episodes", "20", "--seed", "3", "--json").Output).RootElement;
        Assert.Equal(checkpoint, byDir.GetProperty("source").GetString());
        Assert.Equal(eval.GetProperty("successes").GetInt32(), byFile.GetProperty("successes").GetInt32());

        // Thinking steps reach the policy agent, which is named by them.
        var thinking = JsonDocument.Parse(Telos("eval", "--agent", id, "--episodes", "20", "--seed", "3", "--thinking-steps", "4", "--json").Output).RootElement;
        Assert.Equal("ppo-lstm+think4", thinking.GetProperty("agent").GetString());
        Assert.Equal(4, thinking.GetProperty("thinking_steps").GetInt32());

        // Sampled actions: named so, drawn from each episode's seeded stream (the same numbers twice), not the greedy episodes.
        string[] sampledArgs = ["eval", "--agent", id, "--env", "maze/test", "--episodes", "20", "--seed", "3", "--sample", "--json"];
        var sampled = JsonDocument.Parse(Telos(sampledArgs).Output).RootElement;
        var again = JsonDocument.Parse(Telos(sampledArgs).Output).RootElement;
        Assert.Equal("ppo-lstm+sampled", sampled.GetProperty("agent").GetString());
        Assert.True(sampled.GetProperty("sampled").GetBoolean());
        Assert.False(eval.GetProperty("sampled").GetBoolean());
        static (int, double, double) Numbers(JsonElement e) => (e.GetProperty("successes").GetInt32(), e.GetProperty("mean_steps").GetDouble(), e.GetProperty("mean_return").GetDouble());
        Assert.Equal(Numbers(sampled), Numbers(again));
        Assert.NotEqual(Numbers(eval), Numbers(sampled));
    }

    /// <summary>A hard-coded agent goes through the same command: BFS on the true reward reaches the cheese on every level.</summary>
    [Fact]
    public void EvalTakesAPlannerAndAnObjective()
    {
        var (code, output, _) = Telos("eval", "--planner", "bfs", "--objective", "true", "--env", "maze/test", "--size", "5", "--episodes", "30", "--json");

        Assert.Equal(0, code);
        var eval = JsonDocument.Parse(output).RootElement;
        Assert.Equal(30, eval.GetProperty("successes").GetInt32());
        Assert.Equal(1.0, eval.GetProperty("success").GetDouble());
        Assert.Equal(0, eval.GetProperty("proxy_episodes").GetInt32());
        Assert.True(eval.GetProperty("success_ci")[0].GetDouble() is > 0.85 and < 1);
        Assert.False(Directory.Exists(RunsRoot), "evaluating a planner writes nothing");
    }

    /// <summary>
    /// The family's episode counts reach the JSON: BFS on the proxy (keys held) picks up all 2m keys of every kc/test room
    /// and opens none of its m chests, so every episode holds m keys beyond the chests; the maze takes no counts.
    /// </summary>
    [Fact]
    public void EvalPrintsTheFamilysEpisodeCounts()
    {
        var (code, output, _) = Telos("eval", "--planner", "bfs", "--objective", "keys", "--env", "kc/test", "--size", "7", "--episodes", "12", "--json");
        var maze = JsonDocument.Parse(Telos("eval", "--planner", "bfs", "--env", "maze/test", "--size", "5", "--episodes", "3", "--json").Output).RootElement;

        Assert.Equal(0, code);
        var eval = JsonDocument.Parse(output).RootElement;
        var counts = eval.GetProperty("counts");
        Assert.Equal(["chests_opened", "keys_taken", "keys_beyond_chests"], counts.EnumerateObject().Select(p => p.Name));
        Assert.Equal(12, eval.GetProperty("proxy_episodes").GetInt32());
        var beyond = counts.GetProperty("keys_beyond_chests");
        Assert.Equal(12, beyond.GetProperty("positive_episodes").GetInt32());
        Assert.Equal(1.0, beyond.GetProperty("positive").GetDouble());
        Assert.True(beyond.GetProperty("positive_ci")[0].GetDouble() is > 0.7 and < 1);
        Assert.True(beyond.GetProperty("mean").GetDouble() >= 1);
        Assert.Equal(2 * beyond.GetProperty("mean").GetDouble(), counts.GetProperty("keys_taken").GetProperty("mean").GetDouble(), 6);
        Assert.Equal(0, counts.GetProperty("chests_opened").GetProperty("positive_episodes").GetInt32());
        Assert.Empty(maze.GetProperty("counts").EnumerateObject());
    }

    [Theory]
    [InlineData("error: telos train ppo (command line): key 'env': expected one of \"maze/train\"", "train", "ppo", "--env", "maze/nope", "--steps", "96")]
    [InlineData("error: telos train ppo (command line): key 'total_timesteps': expected integer in [1, 10000000000], got 0", "train", "ppo", "--steps", "0")]
    [InlineData("error: telos train ppo (command line): key 'total_timesteps': 100 is less than one rollout, num_envs·num_steps = 1024", "train", "ppo", "--steps", "100")]
    [InlineData("error: telos train ppo (command line): key 'policy': expected one of \"lstm\", \"cnn\", \"drc\", got \"gru\"", "train", "ppo", "--policy", "gru", "--steps", "2048")]
    [InlineData("error: run 'nope': no such run in ", "eval", "--agent", "nope")]
    [InlineData("error: give either --agent RUN|CHECKPOINT (a trained policy) or --planner NAME (a hard-coded agent)", "eval", "--episodes", "10")]
    [InlineData("error: --episodes 0 must be 1 to 1000000", "eval", "--planner", "bfs", "--episodes", "0")]
    [InlineData("error: unknown planner 'dfs'", "eval", "--planner", "dfs", "--episodes", "3")]
    [InlineData("error: --thinking-steps applies to a trained policy (--agent), not to a planner", "eval", "--planner", "bfs", "--episodes", "3", "--thinking-steps", "2")]
    [InlineData("error: --thinking-steps -1 must be 0 to 1000", "eval", "--planner", "bfs", "--thinking-steps", "-1")]
    [InlineData("error: --sample applies to a trained policy (--agent), not to a planner", "eval", "--planner", "bfs", "--episodes", "3", "--sample")]
    [InlineData("error: telos train ppo (command line): key 'total_timesteps': 100 is less than one rollout", "train", "ppo", "--policy", "drc", "--steps", "100")]
    public void BadInputIsOneLineExitTwoAndWritesNothing(string expected, params string[] args)
    {
        var (code, output, error) = Telos(args);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(RunsRoot), "no run directory or index may be created");
    }

    /// <summary>A checkpoint whose sidecar names another policy kind than its tensors hold is one line, exit 2; so is a policy evaluated on levels of another size.</summary>
    [Fact]
    public void EvalRefusesACheckpointOfAnotherKindAndLevelsOfAnotherSize()
    {
        var config = Write("tiny.toml", Tiny);
        var dir = JsonDocument.Parse(Telos("train", "ppo", "--config", config, "--steps", "64", "--size", "5", "--seed", "3", "--json", "-q").Output).RootElement.GetProperty("dir").GetString()!;
        var (sizeCode, _, sizeError) = Telos("eval", "--agent", dir, "--size", "7", "--episodes", "5");
        var checkpoint = Path.Combine(dir, "checkpoints", "step-0000000064");
        File.WriteAllText(checkpoint + ".json", File.ReadAllText(checkpoint + ".json").Replace("\"kind\": \"lstm\"", "\"kind\": \"cnn\"", StringComparison.Ordinal));
        var before = Directory.EnumerateFiles(RunsRoot, "*", SearchOption.AllDirectories).Order().ToArray();

        var (code, output, error) = Telos("eval", "--agent", checkpoint + ".safetensors", "--episodes", "5");

        Assert.Equal(2, sizeCode);
        Assert.Equal($"error: {checkpoint}.safetensors: the policy takes 3×5×5 observations and 4 actions (trained on maze/train size=5 step_limit=10); maze/test size=7 step_limit=10 has 3×7×7 and 4", sizeError.TrimEnd('\n'));
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Equal($"error: {checkpoint}.safetensors: the tensors are not a cnn policy's (unexpected 'policy.lstm.weight_ih'); the sidecar names the wrong kind or the file is another network's", error.TrimEnd('\n'));
        Assert.Equal(before, Directory.EnumerateFiles(RunsRoot, "*", SearchOption.AllDirectories).Order().ToArray());
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private (int ExitCode, string Output, string Error) Telos(params string[] args) => CliHarness.RunIn(RunsRoot, args);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }
}
