using Microsoft.Playwright;

namespace Telos.Testing.Browser;

/// <summary>What a page showed in a real browser: console errors and uncaught exceptions, and the rendered size of each figure.</summary>
/// <param name="Errors">Console messages of type error, page errors, failed requests and requests for anything but the file itself or data: URIs, in order.</param>
/// <param name="Figures">Per <c>figure.telos-figure</c>, in document order: its first SVG's rendered width and height in CSS pixels (0 × 0 when it has none).</param>
public sealed record PageCheck(IReadOnlyList<string> Errors, IReadOnlyList<(double Width, double Height)> Figures);

/// <summary>
/// Debian's chromium driven by Playwright, with no browser download: Playwright's driver comes
/// from the Microsoft.Playwright package, the browser is <c>/usr/bin/chromium</c> (installed by
/// <c>.ci/run</c>; <c>TELOS_CHROMIUM</c> names another). Launch one per test class: a launch costs
/// about a second, a new page a few milliseconds.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    /// <summary>Where Debian's <c>chromium</c> package puts the browser.</summary>
    public const string DefaultPath = "/usr/bin/chromium";

    private readonly IPlaywright _playwright;

    private HeadlessChromium(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        Browser = browser;
    }

    /// <summary>The browser.</summary>
    public IBrowser Browser { get; }

    /// <summary>Starts Playwright's driver and a headless chromium.</summary>
    /// <exception cref="InvalidOperationException">No chromium at the path (the message says how to install it).</exception>
    public static async Task<HeadlessChromium> LaunchAsync()
    {
        var path = Environment.GetEnvironmentVariable("TELOS_CHROMIUM") ?? DefaultPath;
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} does not exist: install Debian's chromium (apt-get install -y chromium; .ci/run does) or set TELOS_CHROMIUM");
        }
        var playwright = await Playwright.CreateAsync();
        try
        {
            // --no-sandbox: CI runs as root, where chromium refuses its sandbox.
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = path, Headless = true, Args = ["--no-sandbox"] });
            return new HeadlessChromium(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A new page in its own context, with every console error and uncaught exception collected in <paramref name="errors"/>.</summary>
    public async Task<IPage> NewPageAsync(List<string> errors, int width = 1400, int height = 900)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (errors)
                {
                    errors.Add("console: " + message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (errors)
            {
                errors.Add("page: " + error);
            }
        };
        return page;
    }

    /// <summary>
    /// Opens <paramref name="htmlFile"/> from disk in a fresh headless chromium, waits for it to load, and
    /// reports errors (console errors, page errors, failed requests, and any request for anything but
    /// the file itself or a data: URI: an offline report fetches nothing) and each figure's rendered size.
    /// </summary>
    public static async Task<PageCheck> OpenAsync(string htmlFile)
    {
        await using var chromium = await LaunchAsync();
        var errors = new List<string>();
        var page = await chromium.NewPageAsync(errors);
        page.RequestFailed += (_, request) => errors.Add("request failed: " + request.Url);
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

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
