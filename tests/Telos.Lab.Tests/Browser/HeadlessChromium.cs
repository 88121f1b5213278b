using Microsoft.Playwright;

namespace Telos.Lab.Tests.Browser;

/// <summary>What a page showed in a real browser: console errors and uncaught exceptions, and the rendered size of each figure.</summary>
/// <param name="Errors">Console messages of type error, page errors, failed requests and requests for anything but the file itself or data: URIs, in order.</param>
/// <param name="Figures">Per <c>figure.telos-figure</c>, in document order: its first SVG's rendered width and height in CSS pixels (0 × 0 when it has none).</param>
internal sealed record PageCheck(IReadOnlyList<string> Errors, IReadOnlyList<(double Width, double Height)> Figures);

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>, installed by <c>.ci/run</c>), headless, driven by Playwright's
/// driver (Node.js, shipped in the Microsoft.Playwright package): no browser is downloaded and nothing goes to the network.
/// </summary>
internal static class HeadlessChromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    /// <summary>Opens <paramref name="htmlFile"/> from disk, waits for it to load, and reports errors and figure sizes.</summary>
    public static async Task<PageCheck> OpenAsync(string htmlFile)
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // Tests run as root in CI containers, where Chromium's sandbox cannot start.
            Args = ["--no-sandbox"],
        });
        var page = await browser.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add("console: " + message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add("page: " + error);
        page.RequestFailed += (_, request) => errors.Add("request failed: " + request.Url);
        // An offline report fetches nothing but itself (and its own data: URIs).
        page.Request += (_, request) =>
        {
            if (!request.Url.StartsWith("file:", StringComparison.Ordinal) && !request.Url.StartsWith("data:", StringComparison.Ordinal))
            {
                errors.Add("request: " + request.Url);
            }
        };
        await page.GotoAsync(new Uri(Path.GetFullPath(htmlFile)).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        var sizes = new List<(double, double)>();
        foreach (var figure in await page.QuerySelectorAllAsync("figure.telos-figure"))
        {
            var svg = await figure.QuerySelectorAsync("svg");
            var box = svg is null ? null : await svg.BoundingBoxAsync();
            sizes.Add(box is null ? (0, 0) : (box.Width, box.Height));
        }
        return new PageCheck(errors, sizes);
    }
}
