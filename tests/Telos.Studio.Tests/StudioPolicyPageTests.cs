using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using Telos.Testing.Browser;

namespace Telos.Studio.Tests;

/// <summary>One headless chromium for the learned-optimizer page tests.</summary>
public sealed class ChromiumFixture : IAsyncLifetime
{
    public HeadlessChromium Chromium { get; private set; } = null!;

    public async Task InitializeAsync() => Chromium = await HeadlessChromium.LaunchAsync();

    public async Task DisposeAsync() => await Chromium.DisposeAsync();
}

/// <summary>The learned-optimizer panel in a real browser: load the PPO run on the page, see its path on the level, clamp a channel by clicking a cell.</summary>
[Collection(PpoStudioCollection.Name)]
public sealed class StudioPolicyPageTests(PpoStudioFixture ppo, ChromiumFixture chromium) : IClassFixture<ChromiumFixture>
{
    private const long LevelSeed = 4;
    private const int CellPixels = 32;
    private const int Size = 5;

    private readonly List<string> _errors = [];

    private static async Task Act(IPage page, Func<Task> action)
    {
        var version = int.Parse((await page.GetAttributeAsync("body", "data-version"))!, CultureInfo.InvariantCulture);
        await action();
        await page.WaitForSelectorAsync($"body[data-version='{version + 1}']");
    }

    /// <summary>The cells a drawn polyline passes through, read back from its points (each inside its cell, whatever its offset).</summary>
    private static async Task<IReadOnlyList<(int X, int Y)>> DrawnCells(IPage page, string id)
    {
        var points = (await page.GetAttributeAsync($"#{id}", "points"))!;
        return [.. points.Split(' ').Select(p => p.Split(',').Select(v => (int)Math.Floor(double.Parse(v, CultureInfo.InvariantCulture) / CellPixels)).ToArray())
            .Select(p => (p[0], Size - 1 - p[1]))];
    }

    private static async Task<(int X, int Y)> Mark(IPage page, string id) =>
        (int.Parse((await page.GetAttributeAsync($"#{id}", "data-x"))!, CultureInfo.InvariantCulture),
            int.Parse((await page.GetAttributeAsync($"#{id}", "data-y"))!, CultureInfo.InvariantCulture));

    [Fact]
    public async Task LoadingTheRunOnThePageDrawsTheEvaluationPathAndAClickedClampDrawsTheClampedOne()
    {
        // A server of its own over the run store: nothing loaded until the page loads it.
        var studio = new StudioFixture(ppo.Root);
        await studio.InitializeAsync();
        try
        {
            var page = await chromium.Chromium.NewPageAsync(_errors);
            await page.GotoAsync(studio.Server.PageAddress.ToString());
            await page.WaitForSelectorAsync("body[data-version='1']");
            Assert.Equal("no policy loaded", await page.TextContentAsync("#policy-source"));
            Assert.Equal(0, await page.Locator("#policy-path").CountAsync());

            await page.SelectOptionAsync("#distribution", "maze/test");
            await page.FillAsync("#seed", LevelSeed.ToString(CultureInfo.InvariantCulture));
            await page.FillAsync("#parameters input[data-name='size']", "5");
            await page.FillAsync("#parameters input[data-name='step_limit']", "20");
            await Act(page, () => page.ClickAsync("#go"));
            Assert.Equal($"maze/test size=5 seed={LevelSeed}", await page.TextContentAsync("#description"));
            await page.SelectOptionAsync("#runs", ppo.Run.Id);
            await Act(page, () => page.ClickAsync("#load-policy"));

            var (expected, ending) = ppo.Evaluate(LevelSeed, studio.Server.Session.PolicySeed);
            var drawn = await DrawnCells(page, "policy-path");
            Assert.Equal(expected, drawn);
            Assert.Equal(expected[^1], await Mark(page, "policy-end"));
            Assert.Equal(ending, await page.GetAttributeAsync("#policy-outcome", "data-ending"));
            Assert.StartsWith($"ppo-lstm: {expected.Count - 1} steps, ended on {ending}", await page.TextContentAsync("#policy-outcome"), StringComparison.Ordinal);
            // The planner's path is drawn beside it.
            Assert.Equal(1, await page.Locator("#path").CountAsync());

            // A clamp that changes the path, found through the API of a session on the same level; then set on the page by clicking its cell.
            var probe = await PpoStudioFixture.FindChangingClamp(ppo.Studio, await ppo.Reset(LevelSeed), LevelSeed);
            Assert.True(probe is not null, "no clamp of a channel to 5.5 at any open cell changed the path");
            var (point, channel, x, y, _) = probe.Value;
            await page.SelectOptionAsync("#clamp-point", point);
            await page.FillAsync("#clamp-channel", channel.ToString(CultureInfo.InvariantCulture));
            await page.CheckAsync("#clamp-click");
            await Act(page, () => page.ClickAsync($"#level rect.cell[data-x='{x}'][data-y='{y}']"));

            using var response = await studio.Client.GetAsync("/api/state");
            var steered = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("policy").GetProperty("steered");
            var api = PpoStudioFixture.Cells(steered);
            var steeredDrawn = await DrawnCells(page, "steered-path");
            Assert.Equal(api, steeredDrawn);
            Assert.Equal(ppo.Evaluate(LevelSeed, studio.Server.Session.PolicySeed, (hooks, _, maze) => hooks.Clamp(point, channel, maze.Size - 1 - y, x, 5.5f)).Path, steeredDrawn);
            Assert.NotEqual(drawn, steeredDrawn);
            Assert.Equal(drawn, await DrawnCells(page, "policy-path"));
            Assert.Equal(api[^1], await Mark(page, "steered-end"));
            Assert.Equal((x, y), await Mark(page, "clamp-mark"));
            Assert.Equal(steered.GetProperty("ending").GetString(), await page.GetAttributeAsync("#steered-outcome", "data-ending"));
            Assert.StartsWith($"with {point} channel {channel} at ({x}, {y}) clamped to 5.5: {api.Count - 1} steps, ended on {steered.GetProperty("ending").GetString()}",
                await page.TextContentAsync("#steered-outcome"), StringComparison.Ordinal);
            Assert.Equal(0, await page.Locator("#labels li").CountAsync());
            Assert.Equal("", await page.TextContentAsync("#error"));
            Assert.True(_errors.Count == 0, string.Join(" | ", _errors));
        }
        finally
        {
            await studio.DisposeAsync();
        }
    }
}
