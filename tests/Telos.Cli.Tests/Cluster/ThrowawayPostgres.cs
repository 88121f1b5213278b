using System.Diagnostics;
using System.Globalization;

namespace Telos.Cli.Tests.Cluster;

/// <summary>
/// A PostgreSQL server of its own in a temp folder, on a loopback port, with trust authentication, run with the
/// binaries of the Debian packages (<c>/usr/lib/postgresql/N/bin</c>). As root (which initdb refuses), it runs as the
/// <c>postgres</c> user. Dispose stops it and deletes its folder.
/// </summary>
internal sealed class ThrowawayPostgres : IDisposable
{
    private readonly string _bin;
    private readonly string? _runAs;

    private ThrowawayPostgres(string bin, string folder, int port, string? runAs)
    {
        _bin = bin;
        Folder = folder;
        Port = port;
        _runAs = runAs;
    }

    public string Folder { get; }

    public int Port { get; }

    /// <summary>A connection string for the server's <c>postgres</c> database.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username={_runAs ?? Environment.UserName};Database=postgres;Pooling=false";

    /// <summary>The folder of the newest installed PostgreSQL's binaries, or null when none is installed.</summary>
    public static string? FindBinaries() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;

    /// <summary>initdb and start a server in a new temp folder.</summary>
    public static ThrowawayPostgres Start(string bin)
    {
        var folder = Path.Combine(Path.GetTempPath(), "telos-postgres", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var runAs = Environment.UserName == "root" ? "postgres" : null;
        if (runAs is not null)
        {
            Run("chown", ["-R", runAs, folder], null);
        }
        var server = new ThrowawayPostgres(bin, folder, SiloProcesses.FreePort(), runAs);
        var data = Path.Combine(folder, "data");
        Run(Path.Combine(bin, "initdb"), ["-D", data, "--auth=trust", "--no-sync", "-E", "UTF8"], runAs);
        var options = $"-h 127.0.0.1 -p {server.Port.ToString(CultureInfo.InvariantCulture)} -k {folder} -c fsync=off";
        Run(Path.Combine(bin, "pg_ctl"), ["-D", data, "-o", options, "-l", Path.Combine(folder, "server.log"), "-w", "-t", "60", "start"], runAs);
        return server;
    }

    public void Dispose()
    {
        try
        {
            Run(Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(Folder, "data"), "-m", "immediate", "-w", "stop"], _runAs);
        }
        finally
        {
            try
            {
                Directory.Delete(Folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static void Run(string file, IReadOnlyList<string> args, string? runAs)
    {
        var start = runAs is null ? new ProcessStartInfo(file) : new ProcessStartInfo("runuser");
        if (runAs is not null)
        {
            foreach (var a in new[] { "-u", runAs, "--", file })
            {
                start.ArgumentList.Add(a);
            }
        }
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} ran longer than 120 s");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {output.Result} {error.Result}");
        }
    }

}
