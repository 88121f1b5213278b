using System.Net;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Telos.Studio;

/// <summary>Where and how the studio listens.</summary>
/// <param name="Session">How the session starts.</param>
/// <param name="Listen">The address to bind: loopback (127.0.0.1, ::1) unless named explicitly; <see cref="StudioAddress.Parse"/> says whether to warn.</param>
/// <param name="Port">The port; 0 picks a free one.</param>
/// <param name="Token">The access token; null draws a random one (tests pass their own only to check refusals).</param>
public sealed record StudioServerOptions(StudioSessionOptions Session, IPAddress Listen, int Port = 0, string? Token = null);

/// <summary>Bind addresses: the studio listens on loopback unless told otherwise, by address, never by host name.</summary>
public static class StudioAddress
{
    /// <summary>127.0.0.1.</summary>
    public static IPAddress Default => IPAddress.Loopback;

    /// <summary>The address in <paramref name="text"/>, and whether it is reachable from other machines (the CLI warns then).</summary>
    /// <exception cref="TelosInputException">Not an IP address (host names are not resolved), or a wildcard (0.0.0.0, ::).</exception>
    public static (IPAddress Address, bool Exposed) Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!IPAddress.TryParse(text.Trim(), out var address))
        {
            throw new TelosInputException($"--listen '{text}': expected an IP address such as 127.0.0.1 (host names are not resolved)");
        }
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            throw new TelosInputException($"--listen {address}: name the address of one interface (the server accepts requests only for the host it was told, so a wildcard would refuse every browser)");
        }
        return (address, !IPAddress.IsLoopback(address));
    }
}

/// <summary>
/// The studio's HTTP server (Kestrel, minimal APIs): the embedded page and the JSON API over one
/// <see cref="StudioSession"/>. Every API call must carry the per-launch token (header
/// <c>X-Telos-Token</c>; the page itself takes it as <c>?token=</c>): none → 401, a wrong one → 403.
/// A request whose <c>Origin</c> or <c>Host</c> is not the server's own is refused with 403, so a
/// page from another site cannot drive it (nor a DNS-rebinding one). Bodies are JSON of at most
/// <see cref="StudioLimits.MaxRequestBytes"/>; unknown fields are refused; bad input is 400 with
/// <c>{"error": "…"}</c>. The server only ever reads embedded files and the checkpoints its run store lists, and writes cards into the session's folder.
/// </summary>
public sealed class StudioServer : IAsyncDisposable
{
    /// <summary>The header that carries the token on API calls.</summary>
    public const string TokenHeader = "X-Telos-Token";

    /// <summary>The JSON the API reads and writes (camelCase, strict: unknown fields are errors).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
    };

    private static readonly Dictionary<string, string> Assets = new(StringComparer.Ordinal)
    {
        ["/studio.js"] = "text/javascript; charset=utf-8",
        ["/studio.css"] = "text/css; charset=utf-8",
    };

    private readonly WebApplication _app;

    // Filled once the port is bound; until then every request is refused as having a foreign Host.
    private readonly HashSet<string> _hosts = new(StringComparer.OrdinalIgnoreCase);

    private StudioServer(WebApplication app, StudioSession session, string token)
    {
        _app = app;
        Session = session;
        Token = token;
        Address = new Uri("http://127.0.0.1/");
    }

    /// <summary>The session the API drives.</summary>
    public StudioSession Session { get; }

    /// <summary>The per-launch token.</summary>
    public string Token { get; }

    /// <summary>The server's base address (<c>http://127.0.0.1:PORT/</c>).</summary>
    public Uri Address { get; private set; }

    /// <summary>The page's address with the token: what the CLI prints.</summary>
    public Uri PageAddress => new(Address, "?token=" + Token);

    /// <summary>Opens the session and starts listening.</summary>
    /// <exception cref="TelosInputException">A bad session start (distribution, objective) or a port that cannot be bound.</exception>
    public static async Task<StudioServer> StartAsync(StudioServerOptions options, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Port is < 0 or > 65535)
        {
            throw new TelosInputException($"--port {options.Port} must be 0 (any free port) to 65535");
        }
        var session = new StudioSession(options.Session);
        var token = options.Token ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Telos.Studio", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(options.Listen, options.Port);
            kestrel.Limits.MaxRequestBodySize = StudioLimits.MaxRequestBytes;
            kestrel.AddServerHeader = false;
        });
        var app = builder.Build();
        var server = new StudioServer(app, session, token);
        server.Map();
        try
        {
            await app.StartAsync(cancellation).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new TelosInputException($"cannot listen on {options.Listen}:{options.Port}: {e.Message}");
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(bound).Port;
        var host = options.Listen.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{options.Listen}]" : options.Listen.ToString();
        lock (server._hosts)
        {
            server._hosts.Add($"{host}:{port}");
            if (IPAddress.IsLoopback(options.Listen))
            {
                server._hosts.Add($"localhost:{port}");
            }
        }
        server.Address = new Uri($"http://{host}:{port}/");
        return server;
    }

    /// <summary>Runs until <paramref name="cancellation"/> fires or the process is asked to stop (Ctrl+C, SIGTERM: the host's console lifetime), then stops.</summary>
    public async Task WaitAsync(CancellationToken cancellation)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellation, _app.Lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.Infinite, either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: the normal way to stop.
        }
        await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Stops the server and disposes the session (its loaded policy).</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
        Session.Dispose();
    }

    private void Map()
    {
        _app.Use(Guard);
        _app.MapGet("/", Page);
        foreach (var asset in Assets)
        {
            _app.MapGet(asset.Key, (HttpContext c) => Asset(c, asset.Key.TrimStart('/'), asset.Value));
        }
        _app.MapGet("/api/catalog", (HttpContext c) => Reply(c, StudioSession.Catalog()));
        _app.MapGet("/api/state", (HttpContext c) => Reply(c, Session.View()));
        _app.MapGet("/api/runs", (HttpContext c) => Reply(c, Session.Runs()));
        Post<LevelRequest>("/api/level", Session.Select);
        Post<EditRequest>("/api/edit", Session.Edit);
        Post<ObjectiveRequest>("/api/objective", Session.LoadReference);
        Post<ReferenceRequest>("/api/reference", Session.SetReference);
        Post<LabelRequest>("/api/label", Session.Label);
        Post<RegressRequest>("/api/regress", Session.Regress);
        Post<SaveRequest>("/api/save", Session.Save);
        Post<PolicyRequest>("/api/policy", Session.LoadPolicy);
        Post<HandleRequest>("/api/handle", Session.SetHandle);
        _app.MapPost("/api/undo", (HttpContext c) => Run(c, Session.Undo));
        _app.MapPost("/api/redo", (HttpContext c) => Run(c, Session.Redo));
        _app.MapPost("/api/labels/clear", (HttpContext c) => Run(c, Session.ClearLabels));
    }

    /// <summary>Host and Origin first (every path), then the token (the page and the API).</summary>
    private async Task Guard(HttpContext context, RequestDelegate next)
    {
        var headers = context.Response.Headers;
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cache-Control"] = "no-store";
        headers["Content-Security-Policy"] = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
        var request = context.Request;
        bool Known(string authority)
        {
            lock (_hosts)
            {
                return _hosts.Contains(authority);
            }
        }
        if (!Known(request.Host.Value ?? ""))
        {
            await Refuse(context, StatusCodes.Status403Forbidden, $"host '{request.Host.Value}' is not this server's").ConfigureAwait(false);
            return;
        }
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && !(Uri.TryCreate(origin, UriKind.Absolute, out var o) && o.Scheme == "http" && Known(o.Authority) && o.AbsolutePath == "/"))
        {
            await Refuse(context, StatusCodes.Status403Forbidden, $"cross-origin request from '{origin}' refused").ConfigureAwait(false);
            return;
        }
        if (request.Headers["Sec-Fetch-Site"].ToString() == "cross-site")
        {
            await Refuse(context, StatusCodes.Status403Forbidden, "cross-site request refused").ConfigureAwait(false);
            return;
        }
        var path = request.Path.Value ?? "";
        if (path == "/" || path.StartsWith("/api/", StringComparison.Ordinal))
        {
            var given = path == "/" ? request.Query["token"].ToString() : request.Headers[TokenHeader].ToString();
            if (given.Length == 0)
            {
                await Refuse(context, StatusCodes.Status401Unauthorized, path == "/" ? "open the address telos studio printed (it carries ?token=…)" : $"missing {TokenHeader} header").ConfigureAwait(false);
                return;
            }
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(Token)))
            {
                await Refuse(context, StatusCodes.Status403Forbidden, "wrong token").ConfigureAwait(false);
                return;
            }
        }
        await next(context).ConfigureAwait(false);
    }

    private void Post<TRequest>(string route, Func<TRequest, object> handler)
        where TRequest : class =>
        _app.MapPost(route, async (HttpContext context) =>
        {
            if (!(context.Request.ContentType ?? "").StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            {
                await Refuse(context, StatusCodes.Status415UnsupportedMediaType, "send the request body as application/json").ConfigureAwait(false);
                return;
            }
            TRequest? body;
            try
            {
                body = await JsonSerializer.DeserializeAsync<TRequest>(context.Request.Body, Json, context.RequestAborted).ConfigureAwait(false);
            }
            catch (JsonException e)
            {
                await Refuse(context, StatusCodes.Status400BadRequest, "request body: " + FirstLine(e.Message)).ConfigureAwait(false);
                return;
            }
            catch (BadHttpRequestException e)
            {
                await Refuse(context, e.StatusCode, "request body: " + FirstLine(e.Message)).ConfigureAwait(false);
                return;
            }
            if (body is null)
            {
                await Refuse(context, StatusCodes.Status400BadRequest, "request body: expected a JSON object").ConfigureAwait(false);
                return;
            }
            await Run(context, () => handler(body)).ConfigureAwait(false);
        });

    private static async Task Run(HttpContext context, Func<object> handler)
    {
        object result;
        try
        {
            result = handler();
        }
        catch (TelosInputException e)
        {
            await Refuse(context, StatusCodes.Status400BadRequest, e.Message).ConfigureAwait(false);
            return;
        }
        await Reply(context, result).ConfigureAwait(false);
    }

    private static Task Reply(HttpContext context, object value)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, value.GetType(), Json);
    }

    private static Task Refuse(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, new { error = message }, Json);
    }

    private static Task Page(HttpContext context) => Asset(context, "index.html", "text/html; charset=utf-8");

    private static async Task Asset(HttpContext context, string name, string contentType)
    {
        await using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Telos.Studio.Page." + name)
            ?? throw new InvalidOperationException($"embedded page asset {name} is missing from the build");
        context.Response.ContentType = contentType;
        await stream.CopyToAsync(context.Response.Body).ConfigureAwait(false);
    }

    private static string FirstLine(string text) => text.ReplaceLineEndings("\n").Split('\n')[0];
}
