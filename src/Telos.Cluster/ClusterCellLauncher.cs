using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Telos.IO;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;

namespace Telos.Cluster;

/// <summary>
/// Runs sweep cells on an Orleans cluster: each cell goes to the live silo with the most free slots, runs there as
/// <c>telos cell DIR</c> (what a local sweep runs), and its directory's files come back into the cell directory here,
/// <c>run.json</c> last (a cell is done only once its record is). A silo that stops answering for
/// <see cref="LostAfter"/> loses its cell, which is sent to another silo; a cell that fails on a live silo is a
/// failure (returned once, with its error), not retried. After <see cref="MaxLosses"/> losses the cell fails.
/// </summary>
/// <remarks>Thread-safe: the sweep's workers call <see cref="Run"/> at once. Dispose closes the connection.</remarks>
public sealed class ClusterCellLauncher : ICellLauncher, IDisposable
{
    /// <summary>How long a silo may fail to answer about a running cell before the cell is sent elsewhere.</summary>
    public static readonly TimeSpan LostAfter = TimeSpan.FromSeconds(10);

    /// <summary>Silo losses after which a cell is reported failed instead of sent again.</summary>
    public const int MaxLosses = 3;

    private const int ChunkBytes = 1 << 20;
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan SuspectFor = TimeSpan.FromSeconds(30);

    private readonly IHost _host;
    private readonly IClusterClient _client;
    private readonly ClusterConfig _config;
    private readonly Action<string> _log;
    private readonly object _lock = new();
    private readonly Dictionary<string, Silo> _silos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<CellExit>>> _inFlight = new(StringComparer.Ordinal);
    private long _refreshedAt = long.MinValue;

    private ClusterCellLauncher(IHost host, ClusterConfig config, Action<string> log)
    {
        _host = host;
        _client = host.Services.GetRequiredService<IClusterClient>();
        _config = config;
        _log = log;
    }

    /// <summary>Cells at once: the free slots of the silos that were up when the launcher connected.</summary>
    public int MaxJobs { get; private set; }

    /// <summary>Connects to the cluster and reads its silos' slots.</summary>
    /// <param name="config">The cluster.</param>
    /// <param name="timeout">How long to keep trying to reach a gateway and see a silo.</param>
    /// <param name="log">One line per lost cell and resend (the sweep's log).</param>
    /// <exception cref="TelosInputException">No gateway answered within <paramref name="timeout"/>, or no silo is up: names the config file.</exception>
    public static ClusterCellLauncher Connect(ClusterConfig config, TimeSpan timeout, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var host = ClusterHosts.Client(config, null);
            try
            {
                using var bound = new CancellationTokenSource(Max(timeout - clock.Elapsed, TimeSpan.FromSeconds(1)));
                host.StartAsync(bound.Token).GetAwaiter().GetResult();
                var launcher = new ClusterCellLauncher(host, config, log ?? (_ => { }));
                launcher.RefreshAsync(force: true).WaitAsync(bound.Token).GetAwaiter().GetResult();
                launcher.MaxJobs = launcher.TotalSlots();
                if (launcher.MaxJobs > 0)
                {
                    return launcher;
                }
                launcher.Dispose();
                if (clock.Elapsed > timeout)
                {
                    throw new TelosInputException($"{config.SourcePath}: cluster '{config.ClusterId}' has no silo up");
                }
            }
            catch (Exception e) when (e is not TelosInputException)
            {
                host.Dispose();
                if (clock.Elapsed > timeout)
                {
                    throw new TelosInputException($"{config.SourcePath}: cannot reach cluster '{config.ClusterId}': {e.Message.ReplaceLineEndings(" ")}", e);
                }
            }
            Thread.Sleep(500);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>The silos now known, each with its slots and the cells it runs for this launcher.</summary>
    public IReadOnlyList<(string Silo, int Slots, int Running)> Silos()
    {
        lock (_lock)
        {
            return _silos.Values.Select(s => (s.Key, s.Slots, s.Running)).ToArray();
        }
    }

    /// <summary>Runs the cell to its end; a second call for the same cell while one runs waits for that one (one run, one copy).</summary>
    public CellExit Run(string cellDirectory, CancellationToken cancellationToken)
    {
        var toml = File.ReadAllText(Path.Combine(cellDirectory, "config.toml"));
        var key = CellKey(cellDirectory, toml);
        var run = _inFlight.GetOrAdd(key, _ => new Lazy<Task<CellExit>>(() => RunAsync(cellDirectory, key, toml, cancellationToken)));
        try
        {
            return run.Value.GetAwaiter().GetResult();
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, Lazy<Task<CellExit>>>(key, run));
        }
    }

    public void Dispose()
    {
        try
        {
            _host.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is OperationCanceledException or OrleansException or TimeoutException)
        {
        }
        _host.Dispose();
    }

    /// <summary>The key of a cell: the submitting machine, the cell's directory and its config (the same cell resent joins its job).</summary>
    internal static string CellKey(string cellDirectory, string configToml)
    {
        var text = $"{Environment.MachineName}\n{Path.GetFullPath(cellDirectory)}\n{configToml}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
    }

    private async Task<CellExit> RunAsync(string cellDirectory, string key, string toml, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var name = Path.GetFileName(Path.GetFullPath(cellDirectory).TrimEnd(Path.DirectorySeparatorChar));
        var job = new CellJob(key, name, toml);
        var losses = new List<string>();
        while (true)
        {
            var silo = await AcquireAsync(cancellationToken).ConfigureAwait(false);
            if (silo is null)
            {
                return new CellExit(1, "the sweep was interrupted");
            }
            CellExit? exit;
            try
            {
                exit = await RunOnAsync(silo, job, cellDirectory, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                lock (_lock)
                {
                    silo.Running--;
                }
            }
            if (exit is not null)
            {
                return exit;
            }
            losses.Add(silo.Key);
            if (losses.Count >= MaxLosses)
            {
                return new CellExit(1, $"lost with {losses.Count} silos ({string.Join(", ", losses)}); not sent again");
            }
            _log($"cell {name}: lost with silo {silo.Key}; sending it to another silo");
        }
    }

    /// <summary>Runs the job on <paramref name="silo"/> and copies its files here; null when the silo was lost.</summary>
    private async Task<CellExit?> RunOnAsync(Silo silo, CellJob job, string cellDirectory, CancellationToken cancellationToken)
    {
        var worker = _client.GetGrain<ICellWorkerGrain>(silo.Key);
        try
        {
            await worker.Start(job).ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransport(e))
        {
            Suspect(silo);
            return null;
        }
        long? failingSince = null;
        while (true)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                await ReleaseQuietly(worker, job.Key).ConfigureAwait(false);
                return new CellExit(1, "the sweep was interrupted");
            }
            CellReport report;
            try
            {
                report = await worker.Wait(job.Key, Poll).ConfigureAwait(false);
                failingSince = null;
            }
            catch (Exception e) when (IsTransport(e))
            {
                failingSince ??= Environment.TickCount64;
                if (Environment.TickCount64 - failingSince > LostAfter.TotalMilliseconds)
                {
                    Suspect(silo);
                    return null;
                }
                await Task.Delay(500, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            switch (report.Progress)
            {
                case CellProgress.Running:
                    continue;
                case CellProgress.Unknown:
                    return null;
            }
            List<(string Path, byte[] Bytes)> files;
            try
            {
                files = await FetchAsync(worker, job.Key, report.Files).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransport(e))
            {
                Suspect(silo);
                return null;
            }
            // Files of an earlier attempt that this one did not write go first; the record goes last: until it is
            // written the cell is not done here, whatever else arrived.
            var keep = files.Select(f => Path.GetFullPath(Path.Combine(cellDirectory, f.Path))).ToHashSet(StringComparer.Ordinal);
            foreach (var stale in Directory.EnumerateFiles(cellDirectory, "*", SearchOption.AllDirectories).Where(f => !keep.Contains(Path.GetFullPath(f))).ToList())
            {
                File.Delete(stale);
            }
            foreach (var (path, bytes) in files.OrderBy(f => f.Path == RunRecordFile.FileName))
            {
                var target = Path.Combine(cellDirectory, path.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                AtomicFile.WriteAllBytes(target, bytes);
            }
            await ReleaseQuietly(worker, job.Key).ConfigureAwait(false);
            return new CellExit(report.ExitCode, report.Error);
        }
    }

    private static async Task<List<(string Path, byte[] Bytes)>> FetchAsync(ICellWorkerGrain worker, string key, IReadOnlyList<CellFile> files)
    {
        var result = new List<(string, byte[])>();
        foreach (var file in files)
        {
            var full = Path.GetFullPath(Path.Combine("/cell", file.Path));
            if (file.Path.Contains('\\', StringComparison.Ordinal) || !full.StartsWith("/cell/", StringComparison.Ordinal))
            {
                throw new OrleansException($"a silo sent the path '{file.Path}', which leaves the cell directory");
            }
            var bytes = new byte[file.Length];
            var offset = 0;
            while (offset < bytes.Length)
            {
                var chunk = await worker.Read(key, file.Path, offset, ChunkBytes).ConfigureAwait(false);
                if (chunk.Length == 0)
                {
                    throw new OrleansException($"{file.Path} ended at byte {offset} of {bytes.Length} on the silo");
                }
                chunk.CopyTo(bytes, offset);
                offset += chunk.Length;
            }
            result.Add((file.Path, bytes));
        }
        return result;
    }

    private static async Task ReleaseQuietly(ICellWorkerGrain worker, string key)
    {
        try
        {
            await worker.Release(key).ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransport(e))
        {
        }
    }

    /// <summary>Waits for a free slot on a live silo; null when cancelled.</summary>
    private async Task<Silo?> AcquireAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RefreshAsync(force: false).ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransport(e))
            {
            }
            lock (_lock)
            {
                var now = Environment.TickCount64;
                var best = _silos.Values
                    .Where(s => s.Live && s.Running < s.Slots && now >= s.SuspectUntil)
                    .OrderBy(s => (double)s.Running / s.Slots)
                    .ThenBy(s => s.Key, StringComparer.Ordinal)
                    .FirstOrDefault();
                if (best is not null)
                {
                    best.Running++;
                    return best;
                }
            }
            try
            {
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>Reads the active silos from the cluster (at most once a second unless forced) and the slots of new ones.</summary>
    private async Task RefreshAsync(bool force)
    {
        lock (_lock)
        {
            if (!force && Environment.TickCount64 - _refreshedAt < 1000)
            {
                return;
            }
            _refreshedAt = Environment.TickCount64;
        }
        var hosts = await _client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).ConfigureAwait(false);
        var keys = hosts.Keys.Select(a => a.ToParsableString()).ToHashSet(StringComparer.Ordinal);
        List<string> fresh;
        lock (_lock)
        {
            foreach (var silo in _silos.Values)
            {
                silo.Live = keys.Contains(silo.Key);
            }
            fresh = keys.Where(k => !_silos.ContainsKey(k)).ToList();
        }
        foreach (var key in fresh)
        {
            int slots;
            try
            {
                slots = await _client.GetGrain<ICellWorkerGrain>(key).Slots().ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransport(e))
            {
                continue;
            }
            lock (_lock)
            {
                _silos.TryAdd(key, new Silo(key, slots));
            }
        }
    }

    private int TotalSlots()
    {
        lock (_lock)
        {
            return _silos.Values.Where(s => s.Live).Sum(s => s.Slots);
        }
    }

    private void Suspect(Silo silo)
    {
        lock (_lock)
        {
            silo.SuspectUntil = Environment.TickCount64 + (long)SuspectFor.TotalMilliseconds;
        }
    }

    /// <summary>Failures of the cluster rather than of the cell: the silo or the connection is gone, or a call timed out.</summary>
    private static bool IsTransport(Exception e) => e is OrleansException or TimeoutException or IOException or OperationCanceledException or ArgumentException;

    private sealed class Silo(string key, int slots)
    {
        public string Key { get; } = key;

        public int Slots { get; } = slots;

        public int Running { get; set; }

        public bool Live { get; set; } = true;

        public long SuspectUntil { get; set; }
    }
}
