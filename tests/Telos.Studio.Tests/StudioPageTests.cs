using System.Globalization;
using Microsoft.Playwright;
using Telos.Studio.Tests.Browser;

namespace Telos.Studio.Tests;

/// <summary>One headless chromium and one studio server for the page tests.</summary>
public sealed class StudioPageFixture : IAsyncLifetime
{
    public StudioFixture Studio { get; } = new();

    public HeadlessChromium Chromium { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Studio.InitializeAsync();
        Chromium = await HeadlessChromium.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        await Chromium.DisposeAsync();
        await Studio.DisposeAsync();
    }
}

/// <summary>The page in a real browser (Playwright over Debian's chromium): what a person does with it.</summary>
public sealed class StudioPageTests(StudioPageFixture fixture) : IClassFixture<StudioPageFixture>
{
    private readonly List<string> _errors = [];

    private StudioFixture Studio => fixture.Studio;

    /// <summary>Opens the page on maze/test seed 3 with the corner card, picked through the page's own level picker.</summary>
    private async Task<IPage> OpenOnMazeTestSeed3()
    {
        await Studio.ResetToMazeTestSeed3();
        // Start the page elsewhere, so that picking the level is what puts it on seed 3.
        await Studio.Post("/api/level", """{"distribution":"maze/train","seed":0}""");
        await Studio.Post("/api/objective", """{"name":"corner"}""");
        var page = await fixture.Chromium.NewPageAsync(_errors);
        await page.GotoAsync(Studio.Server.PageAddress.ToString());
        await page.WaitForSelectorAsync("body[data-version='1']");
        await page.SelectOptionAsync("#distribution", "maze/test");
        await page.FillAsync("#seed", "3");
        await Act(page, () => page.ClickAsync("#go"));
        Assert.Equal("maze/test size=13 seed=3", await page.TextContentAsync("#description"));
        return page;
    }

    /// <summary>Runs a user action and waits until the page has drawn the server's answer.</summary>
    private static async Task Act(IPage page, Func<Task> action)
    {
        var version = int.Parse((await page.GetAttributeAsync("body", "data-version"))!, CultureInfo.InvariantCulture);
        await action();
        await page.WaitForSelectorAsync($"body[data-version='{version + 1}']");
    }

    private static async Task<(int X, int Y)> PathEnd(IPage page) =>
        (int.Parse((await page.GetAttributeAsync("#path-end", "data-x"))!, CultureInfo.InvariantCulture),
            int.Parse((await page.GetAttributeAsync("#path-end", "data-y"))!, CultureInfo.InvariantCulture));

    private static async Task<double> Epic(IPage page, string distribution) =>
        double.Parse((await page.TextContentAsync($"#epic td.distance[data-distribution='{distribution}']"))!, CultureInfo.InvariantCulture);

    private static async Task<double> WeightField(IPage page, string feature) =>
        double.Parse(await page.InputValueAsync($"#weights tr[data-feature='{feature}'] input.weight-number"), CultureInfo.InvariantCulture);

    [Fact]
    public async Task ZeroingTheCornerAndRaisingTheCheeseOnThePageRedrawsThePathToTheCheeseAndLowersEpic()
    {
        var page = await OpenOnMazeTestSeed3();
        Assert.Equal(StudioFixture.Corner, await PathEnd(page));
        var before = await Epic(page, "maze/test");

        await Act(page, () => page.ClickAsync("#weights tr[data-feature='at_corner'] button.zero"));
        var cheeseField = page.Locator("#weights tr[data-feature='at_cheese'] input.weight-number");
        await Act(page, async () =>
        {
            await cheeseField.FillAsync("10");
            await cheeseField.PressAsync("Enter");
        });

        Assert.Equal(StudioFixture.CheeseOfMazeTestSeed3(), await PathEnd(page));
        var after = await Epic(page, "maze/test");
        Assert.True(after < before - 0.5, $"EPIC on maze/test {before} → {after}");
        Assert.Equal(10.0, await WeightField(page, "at_cheese"));
        Assert.Equal("revision 2", await page.TextContentAsync("#revision"));
        Assert.Equal(2, await page.Locator("#diff tbody tr").CountAsync());
        Assert.Equal("", await page.TextContentAsync("#error"));
        Assert.True(_errors.Count == 0, string.Join(" | ", _errors));

        var screenshot = await page.ScreenshotAsync(new PageScreenshotOptions { FullPage = true });
        await File.WriteAllBytesAsync(Path.Combine(RepositoryRoot(), "docs", "img", "studio.png"), screenshot);
    }

    [Fact]
    public async Task ClickingACellToLabelItAndRegressingChangesTheCard()
    {
        var page = await OpenOnMazeTestSeed3();
        var cheese = StudioFixture.CheeseOfMazeTestSeed3();
        var before = await WeightField(page, "at_cheese");
        await page.FillAsync("#label-value", "20");
        await Act(page, () => page.ClickAsync($"#level rect.cell[data-x='{cheese.X}'][data-y='{cheese.Y}']"));
        Assert.Equal($"({cheese.X}, {cheese.Y}) worth 20", await page.TextContentAsync("#labels li"));
        await Act(page, () => page.ClickAsync("#regress"));
        var after = await WeightField(page, "at_cheese");
        Assert.True(after > before + 1.0, $"at_cheese {before} → {after}");
        Assert.Equal("revision 1", await page.TextContentAsync("#revision"));
        Assert.StartsWith("goal regression: 1 labelled state(s)", await page.TextContentAsync("#history li"));
        Assert.True(_errors.Count == 0, string.Join(" | ", _errors));
    }

    [Fact]
    public async Task ANonFiniteWeightTypedOnThePageIsRefusedWithTheServersMessage()
    {
        var page = await OpenOnMazeTestSeed3();
        var field = page.Locator("#weights tr[data-feature='at_cheese'] input.weight-number");
        await field.FillAsync("Infinity");
        await field.PressAsync("Enter");
        await page.WaitForSelectorAsync("#error:has-text('finite')");
        Assert.Equal("set at_cheese: 'Infinity' is not a finite number", await page.TextContentAsync("#error"));
        Assert.Equal("revision 0", await page.TextContentAsync("#revision"));
        Assert.Equal(StudioFixture.Corner, await PathEnd(page));
        // The refused request is the only console error: the browser's own note of the 400 response.
        Assert.All(_errors, e => Assert.Contains("400", e, StringComparison.Ordinal));
    }

    /// <summary>The folder that holds Telos.slnx, found upward from the test assembly.</summary>
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Telos.slnx")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("Telos.slnx not found above " + AppContext.BaseDirectory);
    }
}
