using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Telos.Learning.Objectives;

namespace Telos.Studio.Tests;

/// <summary>The JSON API over HTTP, without a browser: the acceptance scene, refusals, limits, saving.</summary>
public sealed class StudioApiTests(StudioFixture studio) : IClassFixture<StudioFixture>
{
    private static (int X, int Y) End(JsonElement view)
    {
        var path = view.GetProperty("plan").GetProperty("path");
        var end = path[path.GetArrayLength() - 1];
        return (end.GetProperty("x").GetInt32(), end.GetProperty("y").GetInt32());
    }

    private static double EpicOn(JsonElement view, string distribution) =>
        view.GetProperty("epic").GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("distribution").GetString() == distribution).GetProperty("distance").GetDouble();

    private static double Weight(JsonElement view, string feature) =>
        view.GetProperty("card").GetProperty("weights").EnumerateArray().Single(w => w.GetProperty("feature").GetString() == feature).GetProperty("weight").GetDouble();

    private static string Error(JsonElement body) => body.GetProperty("error").GetString()!;

    private async Task<JsonElement> State()
    {
        using var response = await studio.Client.GetAsync("/api/state");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task ZeroingTheCornerAndRaisingTheCheeseSendsThePathToTheCheeseAndLowersEpic()
    {
        var before = await studio.ResetToMazeTestSeed3();
        var cheese = StudioFixture.CheeseOfMazeTestSeed3();
        Assert.NotEqual(cheese, StudioFixture.Corner);
        Assert.Equal(StudioFixture.Corner, End(before));
        var (s1, _) = await studio.Post("/api/edit", """{"op":"zero","feature":"at_corner"}""");
        var (s2, after) = await studio.Post("/api/edit", """{"op":"set","feature":"at_cheese","value":10}""");
        Assert.Equal((200, 200), (s1, s2));
        Assert.Equal(cheese, End(after));
        Assert.True(after.GetProperty("plan").GetProperty("success").GetBoolean());
        Assert.True(EpicOn(after, "maze/test") < EpicOn(before, "maze/test") - 0.5, $"EPIC on maze/test {EpicOn(before, "maze/test")} → {EpicOn(after, "maze/test")}");
        // The edited card is the true reward up to scale: EPIC 0 (within rounding).
        Assert.True(EpicOn(after, "maze/test") < 1e-6);
        var batch = after.GetProperty("batch");
        Assert.Equal(20, batch.GetProperty("success").GetProperty("count").GetInt32());
        Assert.Equal(0, before.GetProperty("batch").GetProperty("success").GetProperty("count").GetInt32());
        var diff = after.GetProperty("diff").EnumerateArray().Select(d => (d.GetProperty("name").GetString(), d.GetProperty("delta").GetDouble())).ToArray();
        Assert.Equal([("at_cheese", 10.0), ("at_corner", -10.0)], diff.OrderBy(d => d.Item1));
    }

    [Fact]
    public async Task UndoAndRedoRestoreTheCardAndThePath()
    {
        await studio.ResetToMazeTestSeed3();
        await studio.Post("/api/edit", """{"op":"zero","feature":"at_corner"}""");
        var (_, edited) = await studio.Post("/api/edit", """{"op":"set","feature":"at_cheese","value":10}""");
        var (_, undone) = await studio.Post("/api/undo", "{}");
        Assert.Equal(0.0, Weight(undone, "at_cheese"));
        Assert.Equal(0.0, Weight(undone, "at_corner"));
        Assert.True(undone.GetProperty("canRedo").GetBoolean());
        var (_, redone) = await studio.Post("/api/redo", "{}");
        Assert.Equal(10.0, Weight(redone, "at_cheese"));
        Assert.Equal(End(edited), End(redone));
        var (status, body) = await studio.Post("/api/redo", "{}");
        Assert.Equal(400, status);
        Assert.Equal("nothing to redo", Error(body));
    }

    [Fact]
    public async Task RequestsWithoutTheTokenAre401AndWithAWrongOne403AndChangeNothing()
    {
        await studio.ResetToMazeTestSeed3();
        using var anonymous = new HttpClient { BaseAddress = studio.Server.Address };
        using (var response = await anonymous.GetAsync("/api/state"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        using (var response = await anonymous.GetAsync("/"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        using (var response = await anonymous.GetAsync("/?token=" + new string('0', studio.Server.Token.Length)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        using var wrong = new HttpClient { BaseAddress = studio.Server.Address };
        wrong.DefaultRequestHeaders.Add(StudioServer.TokenHeader, "not-the-token");
        using (var content = Json("""{"op":"set","feature":"at_cheese","value":5}"""))
        using (var response = await wrong.PostAsync("/api/edit", content))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        using (var content = Json("""{"op":"set","feature":"at_cheese","value":5}"""))
        using (var response = await anonymous.PostAsync("/api/edit", content))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        Assert.Equal(0.0, Weight(await State(), "at_cheese"));
        using var page = await anonymous.GetAsync("/?token=" + studio.Server.Token);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.StartsWith("<!doctype html>", await page.Content.ReadAsStringAsync());
    }

    /// <summary>Started without a run store: no runs to list, loading is refused with its reason, a handle needs a policy; the runs need the token like every call.</summary>
    [Fact]
    public async Task WithoutARunStoreThereIsNoPolicyToLoadOrSteer()
    {
        await studio.ResetToMazeTestSeed3();
        using (var response = await studio.Client.GetAsync("/api/runs"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("""{"root":null,"runs":[]}""", await response.Content.ReadAsStringAsync());
        }
        using (var anonymous = new HttpClient { BaseAddress = studio.Server.Address })
        using (var response = await anonymous.GetAsync("/api/runs"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        var (loadStatus, load) = await studio.Post("/api/policy", """{"run":"any"}""");
        Assert.Equal((400, "run: the studio was started without a run store (telos studio --runs DIR)"), (loadStatus, Error(load)));
        var (handleStatus, handle) = await studio.Post("/api/handle", """{"kind":"clamp","point":"encoder.conv1","channel":0,"x":0,"y":0}""");
        Assert.Equal((400, "no policy loaded: load a ppo run first (POST /api/policy)"), (handleStatus, Error(handle)));
        Assert.Equal(JsonValueKind.Null, (await State()).GetProperty("policy").ValueKind);
    }

    [Fact]
    public async Task AForeignOriginOrHostIsRefusedAndTheServersOwnOriginIsNot()
    {
        await studio.ResetToMazeTestSeed3();
        async Task<HttpStatusCode> Edit(string header, string value)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/edit") { Content = Json("""{"op":"set","feature":"at_cheese","value":5}""") };
            request.Headers.TryAddWithoutValidation(header, value);
            using var response = await studio.Client.SendAsync(request);
            return response.StatusCode;
        }
        var own = studio.Server.Address.GetLeftPart(UriPartial.Authority);
        Assert.Equal(HttpStatusCode.Forbidden, await Edit("Origin", "http://evil.example"));
        Assert.Equal(HttpStatusCode.Forbidden, await Edit("Origin", own.Replace("http:", "https:", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.Forbidden, await Edit("Origin", "null"));
        Assert.Equal(0.0, Weight(await State(), "at_cheese"));
        using (var rebinding = new HttpRequestMessage(HttpMethod.Get, "/api/state"))
        {
            rebinding.Headers.Host = "evil.example:" + studio.Server.Address.Port;
            using var response = await studio.Client.SendAsync(rebinding);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, await Edit("Origin", own));
        Assert.Equal(5.0, Weight(await State(), "at_cheese"));
    }

    [Theory]
    [InlineData("\"NaN\"", "set at_cheese: 'NaN' is not a finite number")]
    [InlineData("\"Infinity\"", "set at_cheese: 'Infinity' is not a finite number")]
    [InlineData("1e400", "set at_cheese: '1e400' is not a finite number")]
    [InlineData("\"ten\"", "set at_cheese: 'ten' is not a number")]
    [InlineData("2e6", "set at_cheese: 2e6 is larger in magnitude than 1000000")]
    public async Task NonFiniteOrHugeWeightsAreRefusedWithAMessageAndChangeNothing(string value, string message)
    {
        await studio.ResetToMazeTestSeed3();
        var (status, body) = await studio.Post("/api/edit", $$"""{"op":"set","feature":"at_cheese","value":{{value}}}""");
        Assert.Equal(400, status);
        Assert.Equal(message, Error(body));
        var state = await State();
        Assert.Equal(0.0, Weight(state, "at_cheese"));
        Assert.Equal(0, state.GetProperty("card").GetProperty("revision").GetInt32());
    }

    [Fact]
    public async Task UnknownFeaturesEditsAndFieldsAreNamedInTheMessage()
    {
        await studio.ResetToMazeTestSeed3();
        var (s1, b1) = await studio.Post("/api/edit", """{"op":"set","feature":"at_chese","value":1}""");
        Assert.Equal(400, s1);
        Assert.StartsWith("unknown feature 'at_chese'; known features: at_cheese, path_dist_to_cheese,", Error(b1));
        var (s2, b2) = await studio.Post("/api/edit", """{"op":"delete","feature":"at_cheese"}""");
        Assert.Equal(400, s2);
        Assert.Equal("op 'delete' is not an edit; expected set, scale, zero, penalty, freeze", Error(b2));
        var (s3, b3) = await studio.Post("/api/edit", """{"op":"zero","feature":"at_cheese","command":"rm -rf /"}""");
        Assert.Equal(400, s3);
        Assert.Contains("'command'", Error(b3), StringComparison.Ordinal);
        var (s4, b4) = await studio.Post("/api/reference", """{"name":"cheddar"}""");
        Assert.Equal(400, s4);
        Assert.StartsWith("reference 'cheddar' is not one of maze's: true (", Error(b4));
    }

    [Theory]
    [InlineData("""{"distribution":"maze/test","seed":-1}""", "seed -1 must be 0 to 2147483647")]
    [InlineData("""{"distribution":"maze/test","seed":3,"batchLevels":201}""", "batchLevels 201 must be 1 to 200")]
    [InlineData("""{"distribution":"maze/test","seed":3,"parameters":{"size":999}}""", "size")]
    [InlineData("""{"distribution":"maze/test","seed":3,"parameters":{"depth":3}}""", "depth")]
    [InlineData("""{"distribution":"maze/nowhere","seed":3}""", "maze/nowhere")]
    [InlineData("""{"distribution":"maze/test","seed":3,"planner":"oracle"}""", "unknown planner 'oracle'; known: bfs, astar, dijkstra, vi, mcts, gumbel, uct")]
    public async Task LevelRequestsOutsideTheLimitsAreRefusedAndKeepTheLevel(string json, string named)
    {
        await studio.ResetToMazeTestSeed3();
        var (status, body) = await studio.Post("/api/level", json);
        Assert.Equal(400, status);
        Assert.Contains(named, Error(body), StringComparison.Ordinal);
        var level = (await State()).GetProperty("level");
        Assert.Equal(("maze/test", 3L, 20), (level.GetProperty("distribution").GetString(), level.GetProperty("seed").GetInt64(), level.GetProperty("batchLevels").GetInt32()));
    }

    [Fact]
    public async Task BodiesOverTheLimitAndBodiesThatAreNotJsonAreRefused()
    {
        var (status, body) = await studio.Post("/api/edit", "{\"op\":\"zero\",\"feature\":\"" + new string('x', StudioLimits.MaxRequestBytes) + "\"}");
        Assert.Equal(413, status);
        Assert.StartsWith("request body:", Error(body));
        var (s2, b2) = await studio.Post("/api/edit", "{not json");
        Assert.Equal(400, s2);
        Assert.StartsWith("request body:", Error(b2));
        using var form = new StringContent("op=zero&feature=at_cheese", Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await studio.Client.PostAsync("/api/edit", form);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task SavingWritesTheCardWithItsHistoryAndNeverReplacesAFileUnasked()
    {
        await studio.ResetToMazeTestSeed3();
        await studio.Post("/api/edit", """{"op":"zero","feature":"at_corner"}""");
        var (status, saved) = await studio.Post("/api/save", """{"name":"cheese-seeker"}""");
        Assert.Equal(200, status);
        var path = saved.GetProperty("path").GetString()!;
        Assert.Equal(Path.Combine(studio.SaveDirectory, "cheese-seeker.json"), path);
        var card = ObjectiveFiles.Load(path).Card;
        Assert.Equal(["zero at_corner (was 10)"], card.History.ToArray());
        Assert.Equal(0.0, card.Weight("at_corner"));

        await studio.Post("/api/edit", """{"op":"set","feature":"at_cheese","value":10}""");
        var bytes = await File.ReadAllBytesAsync(path);
        var (again, refused) = await studio.Post("/api/save", """{"name":"cheese-seeker"}""");
        Assert.Equal(400, again);
        Assert.Equal($"{path} exists; save under another name or set overwrite", Error(refused));
        Assert.Equal(bytes, await File.ReadAllBytesAsync(path));
        var (replaced, _) = await studio.Post("/api/save", """{"name":"cheese-seeker","overwrite":true}""");
        Assert.Equal(200, replaced);
        Assert.Equal(10.0, ObjectiveFiles.Load(path).Card.Weight("at_cheese"));

        foreach (var name in new[] { "../escape", "/etc/passwd", "a/b", "", ".hidden" })
        {
            var (s, b) = await studio.Post("/api/save", JsonSerializer.Serialize(new { name }));
            Assert.Equal(400, s);
            Assert.StartsWith($"name '{name}': use 1 to 64 letters", Error(b));
        }
        Assert.Equal(["cheese-seeker.json"], Directory.GetFiles(studio.SaveDirectory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task RegressionTowardALabelledCheeseChangesTheCardAndIsUndoable()
    {
        await studio.ResetToMazeTestSeed3();
        var cheese = StudioFixture.CheeseOfMazeTestSeed3();
        var (s0, none) = await studio.Post("/api/regress", "{}");
        Assert.Equal((400, "no labels: click cells of the level to label them first"), (s0, Error(none)));
        var (s1, labelled) = await studio.Post("/api/label", $$"""{"x":{{cheese.X}},"y":{{cheese.Y}},"value":"20"}""");
        Assert.Equal(200, s1);
        Assert.Equal(1, labelled.GetProperty("labels").GetArrayLength());
        var (s2, regressed) = await studio.Post("/api/regress", """{"anchor":1}""");
        Assert.Equal(200, s2);
        Assert.True(Weight(regressed, "at_cheese") > 1.0, $"at_cheese {Weight(regressed, "at_cheese")}");
        Assert.Equal(1, regressed.GetProperty("card").GetProperty("revision").GetInt32());
        Assert.StartsWith("goal regression: 1 labelled state(s)", regressed.GetProperty("card").GetProperty("history")[0].GetString());
        var (_, undone) = await studio.Post("/api/undo", "{}");
        Assert.Equal(0.0, Weight(undone, "at_cheese"));
    }

    [Fact]
    public async Task LabelsOnWallsOrOutsideTheLevelAreRefused()
    {
        await studio.ResetToMazeTestSeed3();
        var view = await State();
        var values = view.GetProperty("level").GetProperty("values");
        var wall = Enumerable.Range(0, values.GetArrayLength()).First(i => values[i].ValueKind == JsonValueKind.Null);
        var (x, y) = (wall % 13, 12 - wall / 13);
        var (s1, b1) = await studio.Post("/api/label", $$"""{"x":{{x}},"y":{{y}},"value":10}""");
        Assert.Equal((400, $"--label '{x},{y}' is a wall in this level"), (s1, Error(b1)));
        var (s2, b2) = await studio.Post("/api/label", """{"x":13,"y":0,"value":10}""");
        Assert.Equal(400, s2);
        Assert.StartsWith("--label '13,0': expected X,Y with 0 ≤ X < 13", Error(b2));
        Assert.Equal(0, (await State()).GetProperty("labels").GetArrayLength());
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
}

public sealed class StudioAddressTests
{
    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("::1", false)]
    [InlineData("192.168.1.20", true)]
    public void LoopbackIsQuietAndAnyOtherAddressIsExposed(string text, bool exposed) => Assert.Equal(exposed, StudioAddress.Parse(text).Exposed);

    [Fact]
    public void HostNamesAndWildcardsAreRefused()
    {
        var e = Assert.Throws<TelosInputException>(() => StudioAddress.Parse("studio.example"));
        Assert.Equal("--listen 'studio.example': expected an IP address such as 127.0.0.1 (host names are not resolved)", e.Message);
        var any = Assert.Throws<TelosInputException>(() => StudioAddress.Parse("0.0.0.0"));
        Assert.StartsWith("--listen 0.0.0.0: name the address of one interface", any.Message);
        Assert.StartsWith("--listen ::: name the address of one interface", Assert.Throws<TelosInputException>(() => StudioAddress.Parse("::")).Message);
    }
}
