using System.Text.Json;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Studio.Tests;

/// <summary>
/// A tiny PPO run trained in the test into a temporary run store through the experiment runner
/// (<c>telos run</c>'s path: 4 iterations of 8 × 16 steps of a small LSTM policy on 5×5 maze/test levels, the cheese
/// anywhere; checkpoints at iterations 2 and 4 — too little training to solve the maze, but its actions depend on the observation), beside a run of another kind, and one studio server over that store. Shared by the
/// API and page tests of the learned optimizer (one collection, so they take turns on the server).
/// </summary>
public sealed class PpoStudioFixture : IAsyncLifetime
{
    /// <summary>The training config.</summary>
    public const string Config = """
        experiment = "ppo"
        env = "maze/test"
        eval_env = "maze/train"
        seed = 3
        eval_episodes = 4
        conv_channels = 8
        features = 32
        lstm_size = 16
        num_envs = 8
        num_steps = 16
        total_timesteps = 512
        num_minibatches = 4
        update_epochs = 4
        checkpoint_every = 2

        [params]
        size = 5
        step_limit = 20
        """;

    /// <summary>The level the tests look at: maze/test, 5×5 (the policy's size), step limit 20.</summary>
    public const string LevelParameters = """{"size":5,"step_limit":20}""";

    public static readonly DistributionParameters Parameters = DistributionParameters.Of(("size", 5), ("step_limit", 20));

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "telos-studio-ppo-" + Guid.NewGuid().ToString("N")[..12]);

    public RunStore Store { get; private set; } = null!;

    /// <summary>The ppo run.</summary>
    public RunRecord Run { get; private set; } = null!;

    /// <summary>A run of another kind (no policy in it).</summary>
    public RunRecord Other { get; private set; } = null!;

    public StudioFixture Studio { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Store = new RunStore(Root);
        var runner = new ExperimentRunner(Store, ExperimentCatalog.Discover());
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(Config, "tiny-ppo.toml"), "tiny-ppo"), new Progress<ProgressUpdate>());
        Assert.Equal(0, outcome.ExitCode);
        Run = outcome.Record;
        using (var other = Store.Create("notes", "objective", "experiment = \"objective\"\n", 1))
        {
            Other = other.Record;
        }
        Studio = new StudioFixture(Root);
        await Studio.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        if (Studio is not null)
        {
            await Studio.DisposeAsync();
        }
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    /// <summary>Back to maze/test seed <paramref name="seed"/> at 5×5 with the run's newest checkpoint loaded and no handle.</summary>
    public async Task<JsonElement> Reset(long seed)
    {
        await Expect200(Studio.Post("/api/level", $$"""{"distribution":"maze/test","seed":{{seed}},"parameters":{{LevelParameters}}}"""));
        await Expect200(Studio.Post("/api/policy", $$"""{"run":"{{Run.Id}}"}"""));
        return await Expect200(Studio.Post("/api/handle", """{"kind":"none"}"""));
    }

    /// <summary>
    /// What the evaluation path gives for the run's newest checkpoint on maze/test level <paramref name="levelSeed"/>: a
    /// <see cref="PolicyAgent{TState}"/> through <see cref="AgentEvaluation.Evaluate{TState}(IBatchedAgent{TState}, IEnvironmentFamily{TState}, string, DistributionParameters, IReadOnlyList{long}, ulong, EvaluationOptions?)"/>,
    /// with the hooks <paramref name="handle"/> sets on the policy (none when null). Loaded here from the checkpoint, not from the studio.
    /// </summary>
    public (IReadOnlyList<(int X, int Y)> Path, string Ending) Evaluate(long levelSeed, ulong seed, Action<ActivationHooks, ActorCritic, Maze>? handle = null)
    {
        var (policy, _) = PolicyCheckpoints.Load(PolicyCheckpoints.Find(Store, Run.Directory));
        using (policy)
        using (var scope = NewDisposeScope())
        {
            var maze = MazeFamily.Instance.Typed("maze/test", Parameters).Level(levelSeed);
            using var hooks = new ActivationHooks(policy);
            handle?.Invoke(hooks, policy, maze);
            policy.Hooks = hooks;
            using var agent = new PolicyAgent<MazeState>(policy, 1, "ppo");
            var result = AgentEvaluation.Evaluate(agent, MazeFamily.Instance, "maze/test", Parameters, [levelSeed], seed, new EvaluationOptions(KeepEpisodes: true));
            var path = result.Episodes![0].States.Select(s => MazeFamily.Instance.Cells.CellOf(maze, s)).ToArray();
            return (path, result.Records[0].Ending);
        }
    }

    /// <summary>
    /// The first clamp to 5.5 (each map's channels at each open cell of maze/test level <paramref name="levelSeed"/>, in order) that
    /// changes the policy's path on <paramref name="studio"/>, tried through its API; null when none does. Leaves that clamp applied.
    /// </summary>
    public static async Task<(string Point, int Channel, int X, int Y, JsonElement View)?> FindChangingClamp(StudioFixture studio, JsonElement view, long levelSeed)
    {
        var free = Cells(view.GetProperty("policy").GetProperty("free"));
        var maze = MazeFamily.Instance.Typed("maze/test", Parameters).Level(levelSeed);
        var maps = view.GetProperty("policy").GetProperty("hookPoints").EnumerateArray().Where(p => p.GetProperty("spatial").GetBoolean())
            .Select(p => (Name: p.GetProperty("name").GetString()!, Channels: p.GetProperty("shape")[0].GetInt32()));
        foreach (var (point, channels) in maps)
        {
            foreach (var cell in Enumerable.Range(0, maze.Size * maze.Size).Where(maze.IsOpen))
            {
                var (x, y) = MazeFamily.Instance.Cells.CellOf(maze, new MazeState(cell, 0));
                for (var channel = 0; channel < channels; channel++)
                {
                    var clamped = await Expect200(studio.Post("/api/handle", $$"""{"kind":"clamp","point":"{{point}}","channel":{{channel}},"x":{{x}},"y":{{y}}}"""));
                    if (!Cells(clamped.GetProperty("policy").GetProperty("steered")).SequenceEqual(free))
                    {
                        return (point, channel, x, y, clamped);
                    }
                }
            }
        }
        return null;
    }

    /// <summary>The cells of a path in a view (<c>policy.free</c> or <c>policy.steered</c>).</summary>
    public static IReadOnlyList<(int X, int Y)> Cells(JsonElement path) =>
        [.. path.GetProperty("path").EnumerateArray().Select(c => (c.GetProperty("x").GetInt32(), c.GetProperty("y").GetInt32()))];

    public static async Task<JsonElement> Expect200(Task<(int Status, JsonElement Body)> call)
    {
        var (status, body) = await call;
        Assert.True(status == 200, $"status {status}: {body}");
        return body;
    }
}

[CollectionDefinition(Name)]
public sealed class PpoStudioCollection : ICollectionFixture<PpoStudioFixture>
{
    public const string Name = "ppo studio";
}
