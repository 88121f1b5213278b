using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Telos.Environments;

namespace Telos.Studio.Tests;

/// <summary>One studio server per test class (port 0, its own save folder), and an HTTP client that carries its token.</summary>
public sealed class StudioFixture : IAsyncLifetime
{
    private readonly string? _runs;

    /// <summary>A studio without a run store (the class fixture).</summary>
    public StudioFixture()
    {
    }

    /// <summary>A studio over the run store <paramref name="runs"/> (not public: xUnit wants one public constructor on a class fixture).</summary>
    internal StudioFixture(string runs) => _runs = runs;

    public StudioServer Server { get; private set; } = null!;

    public HttpClient Client { get; private set; } = null!;

    public string SaveDirectory { get; } = Path.Combine(Path.GetTempPath(), "telos-studio-tests-" + Guid.NewGuid().ToString("N")[..12]);

    public async Task InitializeAsync()
    {
        Server = await StudioServer.StartAsync(new StudioServerOptions(new StudioSessionOptions(SaveDirectory, Runs: _runs), StudioAddress.Default));
        Client = new HttpClient { BaseAddress = Server.Address };
        Client.DefaultRequestHeaders.Add(StudioServer.TokenHeader, Server.Token);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
        if (Directory.Exists(SaveDirectory))
        {
            Directory.Delete(SaveDirectory, recursive: true);
        }
    }

    /// <summary>POSTs <paramref name="json"/> with the token; returns the status and the parsed body.</summary>
    public async Task<(int Status, JsonElement Body)> Post(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        using var response = await Client.PostAsync(path, content);
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    /// <summary>Back to the acceptance scene: maze/test seed 3 with the corner proxy loaded, no labels, EPIC to the true reward.</summary>
    public async Task<JsonElement> ResetToMazeTestSeed3()
    {
        await Expect200(Post("/api/level", """{"distribution":"maze/test","seed":3,"parameters":{},"planner":"bfs","batchLevels":20}"""));
        await Expect200(Post("/api/reference", """{"name":"true"}"""));
        return await Expect200(Post("/api/objective", """{"name":"corner"}"""));
    }

    /// <summary>The cheese of maze/test seed 3 (size 13), from the maze itself, in procgen coordinates.</summary>
    public static (int X, int Y) CheeseOfMazeTestSeed3()
    {
        var maze = MazeFamily.Instance.Typed("maze/test", DistributionParameters.None).Level(3);
        return MazeFamily.Instance.Cells.CellOf(maze, new MazeState(maze.Cheese, 0));
    }

    /// <summary>The top-right corner of a 13×13 maze.</summary>
    public static (int X, int Y) Corner => (12, 12);

    private static async Task<JsonElement> Expect200(Task<(int Status, JsonElement Body)> call)
    {
        var (status, body) = await call;
        Assert.True(status == 200, $"status {status}: {body}");
        return body;
    }
}
