using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Telos.IO;
using Telos.Lab.Sweeps;

namespace Telos.Cluster;

/// <summary>
/// The cells a silo runs: each in its own directory under the silo's work folder, through the same
/// <see cref="ICellLauncher"/> as a local sweep (a <c>telos cell DIR</c> child process), at most <see cref="Slots"/> at once.
/// A job whose client stops asking about it for longer than the lease is stopped and deleted (its sweep's
/// coordinator is gone; a resumed sweep sends it again), as a local cell stops when its sweep's process dies.
/// </summary>
/// <remarks>Thread-safe: the worker grain calls it from its turns, the jobs end on pool threads.</remarks>
internal sealed partial class SiloCells : IDisposable
{
    private readonly ICellLauncher _launcher;
    private readonly SemaphoreSlim _slots;
    private readonly TimeSpan _lease;
    private readonly ConcurrentDictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly Timer _reaper;

    /// <param name="launcher">Runs one cell directory to its end.</param>
    /// <param name="workFolder">Where the cells' directories go (created; emptied of earlier jobs).</param>
    /// <param name="slots">Cells at once.</param>
    /// <param name="lease">How long a job lives without its client asking about it.</param>
    public SiloCells(ICellLauncher launcher, string workFolder, int slots, TimeSpan lease)
    {
        _launcher = launcher;
        WorkFolder = Path.GetFullPath(workFolder);
        Slots = slots;
        _slots = new SemaphoreSlim(slots, slots);
        _lease = lease;
        if (Directory.Exists(WorkFolder))
        {
            foreach (var stale in Directory.EnumerateDirectories(WorkFolder).Where(d => KeyPattern().IsMatch(Path.GetFileName(d))))
            {
                Directory.Delete(stale, recursive: true);   // cells of an earlier life of this silo: their clients have moved on
            }
        }
        Directory.CreateDirectory(WorkFolder);
        var period = TimeSpan.FromSeconds(Math.Clamp(lease.TotalSeconds / 4, 0.5, 5));
        _reaper = new Timer(_ => Reap(), null, period, period);
    }

    public int Slots { get; }

    public string WorkFolder { get; }

    /// <summary>Cells running or queued here now.</summary>
    public int Active => _jobs.Values.Count(j => !j.Ended.Task.IsCompleted);

    /// <summary>Starts <paramref name="job"/> unless one with its key exists here.</summary>
    /// <exception cref="ArgumentException">The key or directory name is malformed.</exception>
    public void Start(CellJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (!KeyPattern().IsMatch(job.Key))
        {
            throw new ArgumentException($"cell key '{job.Key}': expected 32 lowercase hex digits", nameof(job));
        }
        if (!NamePattern().IsMatch(job.DirectoryName) || job.DirectoryName is "." or "..")
        {
            throw new ArgumentException($"cell directory name '{job.DirectoryName}': expected 1-64 letters, digits, '.', '_' or '-'", nameof(job));
        }
        var fresh = new Job(job.Key, Path.Combine(WorkFolder, job.Key, job.DirectoryName));
        if (!_jobs.TryAdd(job.Key, fresh))
        {
            if (_jobs.TryGetValue(job.Key, out var existing))
            {
                existing.Touch();
            }
            return;
        }
        var root = Path.Combine(WorkFolder, job.Key);
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
        Directory.CreateDirectory(fresh.Directory);
        AtomicFile.WriteAllText(Path.Combine(fresh.Directory, "config.toml"), job.ConfigToml);
        _ = Task.Factory.StartNew(() => Run(fresh), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Waits up to <paramref name="wait"/> for the job to end; renews its lease.</summary>
    public async Task<CellReport> WaitAsync(string key, TimeSpan wait)
    {
        if (!_jobs.TryGetValue(key, out var job))
        {
            return new CellReport(CellProgress.Unknown, 0, null, []);
        }
        job.Touch();
        var ended = job.Ended.Task;
        await Task.WhenAny(ended, Task.Delay(wait)).ConfigureAwait(false);
        job.Touch();
        return ended.IsCompleted ? ended.Result : new CellReport(CellProgress.Running, 0, null, []);
    }

    /// <summary>Bytes of an ended job's file (one listed in its report).</summary>
    /// <exception cref="ArgumentException">Unknown key, job still running, or a path not in its report.</exception>
    public byte[] Read(string key, string path, long offset, int count)
    {
        if (!_jobs.TryGetValue(key, out var job) || !job.Ended.Task.IsCompleted)
        {
            throw new ArgumentException($"cell {key}: no ended job here", nameof(key));
        }
        job.Touch();
        if (!job.Ended.Task.Result.Files.Any(f => f.Path == path))
        {
            throw new ArgumentException($"cell {key}: no file '{path}'", nameof(path));
        }
        using var stream = new FileStream(Path.Combine(job.Directory, path), FileMode.Open, FileAccess.Read, FileShare.Read);
        stream.Position = Math.Min(offset, stream.Length);
        var buffer = new byte[(int)Math.Min(Math.Clamp(count, 0, 4 << 20), stream.Length - stream.Position)];
        stream.ReadExactly(buffer);
        return buffer;
    }

    /// <summary>Stops the job if it runs and deletes its directory.</summary>
    public void Release(string key)
    {
        if (_jobs.TryRemove(key, out var job))
        {
            Drop(job);
        }
    }

    public void Dispose()
    {
        _reaper.Dispose();
        foreach (var job in _jobs.Values)
        {
            job.Stop.Cancel();
        }
    }

    private void Run(Job job)
    {
        CellExit exit;
        var acquired = false;
        try
        {
            _slots.Wait(job.Stop.Token);
            acquired = true;
            exit = _launcher.Run(job.Directory, job.Stop.Token);
        }
        catch (OperationCanceledException)
        {
            exit = new CellExit(1, "stopped before it started");
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            exit = new CellExit(1, e.Message);
        }
        finally
        {
            if (acquired)
            {
                _slots.Release();
            }
        }
        job.Ended.TrySetResult(new CellReport(CellProgress.Ended, exit.ExitCode, exit.Error, ListFiles(job.Directory)));
        if (job.Dropped)
        {
            job.DeleteDirectoryOnce();
        }
    }

    private static CellFile[] ListFiles(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return [];
        }
        return Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => new CellFile(Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/'), new FileInfo(f).Length))
            .OrderBy(f => f.Path, StringComparer.Ordinal)
            .ToArray();
    }

    private void Reap()
    {
        var now = Environment.TickCount64;
        foreach (var job in _jobs.Values)
        {
            if (now - job.LastSeen > _lease.TotalMilliseconds && _jobs.TryRemove(job.Key, out _))
            {
                Drop(job);
            }
        }
    }

    private static void Drop(Job job)
    {
        job.Dropped = true;
        job.Stop.Cancel();
        if (job.Ended.Task.IsCompleted)
        {
            job.DeleteDirectoryOnce();
        }
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex KeyPattern();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex NamePattern();

    private sealed class Job(string key, string directory)
    {
        private readonly Lock _deletion = new();
        private long _lastSeen = Environment.TickCount64;
        private int _dropped;
        private bool _deleted;

        public string Key { get; } = key;

        public string Directory { get; } = directory;

        public CancellationTokenSource Stop { get; } = new();

        public TaskCompletionSource<CellReport> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Released or reaped: its directory goes once it has ended.</summary>
        public bool Dropped
        {
            get => Volatile.Read(ref _dropped) != 0;
            // A full fence: Drop sets this and then reads whether the job ended, the job's thread sets its end and then
            // reads this; with both fenced, at least one of them sees both and deletes the directory.
            set => Interlocked.Exchange(ref _dropped, value ? 1 : 0);
        }

        public long LastSeen => Interlocked.Read(ref _lastSeen);

        public void Touch() => Interlocked.Exchange(ref _lastSeen, Environment.TickCount64);

        /// <summary>
        /// Deletes the job's directory, once: the job's own thread (when it ends after a drop) and a release (after it
        /// ended) may both ask at the same moment. Two recursive deletes of one tree at once can each stop on a file the
        /// other removed and leave the rest; the second caller here waits for the first, so when a release returns the
        /// directory is gone.
        /// </summary>
        public void DeleteDirectoryOnce()
        {
            lock (_deletion)
            {
                if (!_deleted)
                {
                    _deleted = true;
                    DeleteQuietly(System.IO.Path.GetDirectoryName(Directory)!);
                }
            }
        }
    }
}
