using System.Net;
using System.Text.Json;
using Telos.Environments;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Learning.Reinforcement.Policies;

namespace Telos.Studio.Tests;

/// <summary>The learned optimizer over HTTP: list and load a PPO run, its path on the level, a clamp and a steering vector, refusals.</summary>
[Collection(PpoStudioCollection.Name)]
public sealed class StudioPolicyApiTests(PpoStudioFixture ppo)
{
    private const long LevelSeed = 4;

    private StudioFixture Studio => ppo.Studio;

    private static string Error(JsonElement body) => body.GetProperty("error").GetString()!;

    private static ulong Seed(JsonElement view) => view.GetProperty("policy").GetProperty("seed").GetUInt64();

    private static JsonElement Free(JsonElement view) => view.GetProperty("policy").GetProperty("free");

    private static JsonElement Steered(JsonElement view) => view.GetProperty("policy").GetProperty("steered");

    [Fact]
    public async Task TheRunListHoldsThePpoRunWithItsCheckpointsAndNotTheOtherRun()
    {
        using var response = await Studio.Client.GetAsync("/api/runs");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var runs = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(ppo.Store.Root, runs.GetProperty("root").GetString());
        var run = Assert.Single(runs.GetProperty("runs").EnumerateArray());
        Assert.Equal(ppo.Run.Id, run.GetProperty("id").GetString());
        // Checkpoints at iterations 2 and 4 of 128 steps, relative to the store.
        Assert.Equal([256L, 512L], run.GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("step").GetInt64()));
        Assert.Equal(Path.Combine(ppo.Run.Id, "checkpoints", "step-0000000512.safetensors"), run.GetProperty("checkpoints")[1].GetProperty("path").GetString());
    }

    /// <summary>The path the API gives is the evaluation path's (PolicyAgent through AgentEvaluation) on the same level and seed, and its ending is the evaluation's.</summary>
    [Fact]
    public async Task TheLoadedPolicysPathIsTheEvaluationPathsOnTheSameLevel()
    {
        var view = await ppo.Reset(LevelSeed);
        var policy = view.GetProperty("policy");
        Assert.Equal(ppo.Run.Id, policy.GetProperty("run").GetString());
        Assert.Equal(512, policy.GetProperty("step").GetInt64());
        Assert.Equal("ppo-lstm", policy.GetProperty("agent").GetString());
        Assert.Equal("maze/test size=5 step_limit=20", policy.GetProperty("trainedOn").GetString());
        Assert.Equal(["encoder.conv1", "encoder.conv2", "encoder.linear", "lstm.cell", "lstm.hidden"],
            policy.GetProperty("hookPoints").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.Equal(JsonValueKind.Null, policy.GetProperty("steered").ValueKind);

        var (expected, ending) = ppo.Evaluate(LevelSeed, Seed(view));
        Assert.Equal(expected, PpoStudioFixture.Cells(Free(view)));
        Assert.Equal(ending, Free(view).GetProperty("ending").GetString());
        Assert.Equal(expected.Count - 1, Free(view).GetProperty("actions").GetArrayLength());
        // The planner's path is still there beside it (corner card: to the corner of this level).
        Assert.Equal("corner", view.GetProperty("plan").GetProperty("ending").GetString());
    }

    /// <summary>
    /// A channel clamped at a cell changes the path (found by trying each channel of each map at each open cell through the API), the
    /// unclamped path stays, and the clamped one is the evaluation path's with the same clamp set on the policy, ending where the API says.
    /// </summary>
    [Fact]
    public async Task AClampedChannelGivesTheEvaluationPathsClampedPathBesideTheFreeOne()
    {
        var view = await ppo.Reset(LevelSeed);
        var free = PpoStudioFixture.Cells(Free(view));
        var maze = MazeFamily.Instance.Typed("maze/test", PpoStudioFixture.Parameters).Level(LevelSeed);
        Assert.Equal([(GridEncoder.Conv1Point, 8L), (GridEncoder.Conv2Point, 16L)], view.GetProperty("policy").GetProperty("hookPoints").EnumerateArray()
            .Where(p => p.GetProperty("spatial").GetBoolean()).Select(p => (p.GetProperty("name").GetString(), p.GetProperty("shape")[0].GetInt64())));
        var found = await PpoStudioFixture.FindChangingClamp(Studio, view, LevelSeed);
        Assert.True(found is not null, "no clamp of a channel to 5.5 at any open cell changed the path");
        var (point, channel, x, y, result) = found.Value;
        Assert.Equal(free, PpoStudioFixture.Cells(Free(result)));
        var handle = result.GetProperty("policy").GetProperty("handle");
        Assert.Equal(("clamp", point, channel, x, y, 5.5), (handle.GetProperty("kind").GetString(), handle.GetProperty("point").GetString(), handle.GetProperty("channel").GetInt32(),
            handle.GetProperty("x").GetInt32(), handle.GetProperty("y").GetInt32(), handle.GetProperty("value").GetDouble()));

        var (expected, ending) = ppo.Evaluate(LevelSeed, Seed(result), (hooks, _, m) => hooks.Clamp(point, channel, m.Size - 1 - y, x, 5.5f));
        var steered = PpoStudioFixture.Cells(Steered(result));
        Assert.Equal(expected, steered);
        Assert.Equal(ending, Steered(result).GetProperty("ending").GetString());
        // The ending names the first of the family's goals (cheese, corner, …) the path's last cell satisfies.
        Assert.True(MazeFamily.Instance.Cells.TryStateAt(maze, steered[^1].X, steered[^1].Y, out var last));
        Assert.Equal(MazeFamily.Instance.Goals.FirstOrDefault(g => MazeFamily.Instance.Reached(maze, last, g.Name))?.Name ?? "elsewhere", ending);
    }

    /// <summary>
    /// Adding a multiple of this level's cheese vector at a hook point gives the evaluation path's steered path, the free one unchanged;
    /// some of the coefficients tried change the path (so the check can tell steering from none).
    /// </summary>
    [Fact]
    public async Task SteeringWithTheCheeseVectorGivesTheEvaluationPathsSteeredPath()
    {
        var view = await ppo.Reset(LevelSeed);
        var free = PpoStudioFixture.Cells(Free(view));
        var differed = 0;
        foreach (var point in new[] { GridEncoder.Conv1Point, GridEncoder.LinearPoint })
        {
            foreach (var coefficient in new[] { -1.0, -30.0, 30.0 })
            {
                var steered = await PpoStudioFixture.Expect200(Studio.Post("/api/handle", $$"""{"kind":"steer","point":"{{point}}","coefficient":{{coefficient}}}"""));
                var (expected, ending) = ppo.Evaluate(LevelSeed, Seed(steered), (hooks, policy, maze) =>
                {
                    var (with, without) = GoalVector.CheesePairs([maze]);
                    hooks.Steer(point, GoalVector.MeanDifference(policy, point, with, without), coefficient);
                });
                Assert.Equal(expected, PpoStudioFixture.Cells(Steered(steered)));
                Assert.Equal(ending, Steered(steered).GetProperty("ending").GetString());
                Assert.Equal(free, PpoStudioFixture.Cells(Free(steered)));
                differed += expected.SequenceEqual(free) ? 0 : 1;
            }
        }
        Assert.True(differed > 0, "no steering tried changed the path, so the test cannot tell steering from none");
    }

    [Fact]
    public async Task ALevelThePolicyDoesNotFitIsShownWithoutItsPathAndLoadingOntoItIsRefused()
    {
        await ppo.Reset(LevelSeed);
        var (status, seven) = await Studio.Post("/api/level", """{"distribution":"maze/test","seed":3,"parameters":{"size":7,"step_limit":20}}""");
        Assert.Equal(200, status);
        var message = $"run {ppo.Run.Id}: the policy takes 3×5×5 observations and 4 actions (trained on maze/test size=5 step_limit=20); maze/test size=7 step_limit=20 has 3×7×7 and 4";
        Assert.Equal(message, seven.GetProperty("policy").GetProperty("problem").GetString());
        Assert.Equal(JsonValueKind.Null, Free(seven).ValueKind);
        var (refused, body) = await Studio.Post("/api/policy", $$"""{"run":"{{ppo.Run.ShortId}}"}""");
        Assert.Equal((400, message), (refused, Error(body)));
        var (_, back) = await Studio.Post("/api/level", $$"""{"distribution":"maze/test","seed":3,"parameters":{{PpoStudioFixture.LevelParameters}}}""");
        Assert.Equal(JsonValueKind.Null, back.GetProperty("policy").GetProperty("problem").ValueKind);
        Assert.True(Free(back).GetProperty("path").GetArrayLength() > 0);
    }

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { "/api/policy", """{"run":"no-such-run"}""", "run 'no-such-run': no such run in {root}" },
        { "/api/policy", """{"run":"{other}"}""", "run '{other}': {other} is a run of kind 'objective', not a ppo run (it holds no policy to load)" },
        { "/api/policy", """{"checkpoint":"/etc/passwd"}""", "checkpoint '/etc/passwd': not a checkpoint of a ppo run in {root} (GET /api/runs lists them)" },
        { "/api/policy", """{"checkpoint":"../x/checkpoints/step-0000000512.safetensors"}""", "checkpoint '../x/checkpoints/step-0000000512.safetensors': not a checkpoint of a ppo run in {root} (GET /api/runs lists them)" },
        { "/api/policy", """{"checkpoint":"a\u0000b"}""", "checkpoint 'a\0b': not a checkpoint of a ppo run in {root} (GET /api/runs lists them)" },
        { "/api/policy", """{}""", "run: give a ppo run's id, or checkpoint: one of its checkpoint files (GET /api/runs lists both), not both" },
        { "/api/handle", """{"kind":"twist"}""", "kind 'twist': expected steer, clamp or none" },
        { "/api/handle", """{"kind":"steer","point":"encoder.conv9"}""", "point 'encoder.conv9': not a hook point of this lstm policy; it has encoder.conv1, encoder.conv2, encoder.linear, lstm.cell, lstm.hidden" },
        { "/api/handle", """{"kind":"clamp","point":"encoder.conv1","channel":8,"x":0,"y":0}""", "channel 8: encoder.conv1 has channels 0 to 7" },
        { "/api/handle", """{"kind":"clamp","point":"encoder.conv1","channel":-1,"x":0,"y":0}""", "channel -1: encoder.conv1 has channels 0 to 7" },
        { "/api/handle", """{"kind":"clamp","point":"encoder.conv1","channel":0,"x":5,"y":0}""", "x, y (5, 0): off the level's 5×5 grid" },
        { "/api/handle", """{"kind":"clamp","point":"encoder.conv1","channel":0,"x":0,"y":-1}""", "x, y (0, -1): off the level's 5×5 grid" },
        { "/api/handle", """{"kind":"clamp","point":"encoder.conv1","channel":0,"y":1}""", "x: required for a clamp (the cell's x, from the left)" },
        { "/api/handle", """{"kind":"clamp","point":"encoder.linear","channel":0,"x":0,"y":0}""", "point 'encoder.linear': a flat activation [32]; a clamp needs a map [C, H, W] (encoder.conv1, encoder.conv2)" },
        { "/api/handle", """{"kind":"steer","point":"encoder.conv1","coefficient":"NaN"}""", "coefficient: 'NaN' is not a finite number" },
        { "/api/handle", """{"kind":"steer","point":"encoder.conv1","coefficient":1e400}""", "coefficient: '1e400' is not a finite number" },
        { "/api/handle", """{"kind":"clamp","point":"encoder.conv1","channel":0,"x":0,"y":0,"value":"Infinity"}""", "value: 'Infinity' is not a finite number" },
    };

    /// <summary>Each bad request is 400 with its one-line message, and the loaded policy and its handle stay as they were.</summary>
    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadPolicyRequestsAre400WithAMessageNamingTheField(string route, string body, string message)
    {
        await ppo.Reset(LevelSeed);
        var (_, clamped) = await Studio.Post("/api/handle", """{"kind":"clamp","point":"encoder.conv2","channel":1,"x":2,"y":2}""");
        var before = clamped.GetProperty("policy").GetRawText();
        string Fill(string text) => text.Replace("{root}", ppo.Store.Root, StringComparison.Ordinal).Replace("{other}", ppo.Other.Id, StringComparison.Ordinal);
        var (status, refused) = await Studio.Post(route, Fill(body));
        Assert.Equal((400, Fill(message)), (status, Error(refused)));
        using var response = await Studio.Client.GetAsync("/api/state");
        var state = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(before, state.GetProperty("policy").GetRawText());
    }

    /// <summary>A checkpoint is loaded once: naming it again keeps the same policy; loading another disposes the one it replaces.</summary>
    [Fact]
    public async Task ACheckpointLoadsOnceAndIsDisposedWhenReplaced()
    {
        await ppo.Reset(LevelSeed);
        var first = Studio.Server.Session.LoadedPolicy!;
        await PpoStudioFixture.Expect200(Studio.Post("/api/policy", $$"""{"checkpoint":"{{Path.Combine(ppo.Run.Id, "checkpoints", "step-0000000512.json")}}"}"""));
        Assert.Same(first, Studio.Server.Session.LoadedPolicy);
        var (_, older) = await Studio.Post("/api/policy", $$"""{"checkpoint":"{{Path.Combine(ppo.Run.Directory, "checkpoints", "step-0000000256.safetensors")}}"}""");
        Assert.Equal(256, older.GetProperty("policy").GetProperty("step").GetInt64());
        Assert.NotSame(first, Studio.Server.Session.LoadedPolicy);
        Assert.Throws<InvalidOperationException>(() => first.Policy.parameters().First().numel());
    }
}
