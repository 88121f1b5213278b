using Microsoft.Playwright;

namespace Telos.Studio.Tests.Browser;

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
                    errors.Add(message.Text);
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (errors)
            {
                errors.Add(error);
            }
        };
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }
}
