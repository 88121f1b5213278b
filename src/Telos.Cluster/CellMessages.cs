namespace Telos.Cluster;

/// <summary>A cell sent to a silo: its run-directory name and its resolved config (its full description).</summary>
/// <param name="Key">Names the cell across the cluster: the same cell (directory and config) of the same sweep has the same key, so a resent cell joins its job instead of starting another.</param>
/// <param name="DirectoryName">The cell's directory name (its run id, e.g. <c>003</c>).</param>
/// <param name="ConfigToml">The cell's <c>config.toml</c>.</param>
[GenerateSerializer, Alias("telos.cell-job")]
public sealed record CellJob([property: Id(0)] string Key, [property: Id(1)] string DirectoryName, [property: Id(2)] string ConfigToml);

/// <summary>Where a cell stands on the silo it was sent to.</summary>
public enum CellProgress
{
    /// <summary>Still running.</summary>
    Running,

    /// <summary>Ended (completed, failed or stopped); its files can be read.</summary>
    Ended,

    /// <summary>The silo does not know the key (it restarted, or dropped the job when its client stopped asking): send it again.</summary>
    Unknown,
}

/// <summary>One file of an ended cell's directory.</summary>
/// <param name="Path">Relative to the cell directory, '/'-separated.</param>
/// <param name="Length">Bytes.</param>
[GenerateSerializer, Alias("telos.cell-file")]
public sealed record CellFile([property: Id(0)] string Path, [property: Id(1)] long Length);

/// <summary>A cell's state on its silo.</summary>
/// <param name="Progress">Running, ended or unknown.</param>
/// <param name="ExitCode">When ended: the cell process's exit code (0 completed, 1 failed or stopped, 2 bad input).</param>
/// <param name="Error">When ended: the last line of the cell's error output, if any.</param>
/// <param name="Files">When ended: the files of its directory.</param>
[GenerateSerializer, Alias("telos.cell-report")]
public sealed record CellReport(
    [property: Id(0)] CellProgress Progress, [property: Id(1)] int ExitCode, [property: Id(2)] string? Error, [property: Id(3)] IReadOnlyList<CellFile> Files);

/// <summary>
/// A silo's cell runner, one per silo: its key is the silo's address (<c>SiloAddress.ToParsableString()</c>), and it is only
/// ever activated on that silo (<see cref="OwnSiloPlacement"/>), so a client picks the silo a cell runs on by picking the key.
/// A call for the key of a silo that is gone fails.
/// </summary>
[Alias("telos.cell-worker")]
public interface ICellWorkerGrain : IGrainWithStringKey
{
    /// <summary>How many cells this silo runs at once (more are queued).</summary>
    [Alias("slots")]
    Task<int> Slots();

    /// <summary>Starts the cell unless a job with its key is already running or ended here (then it is kept: one copy).</summary>
    [Alias("start")]
    Task Start(CellJob job);

    /// <summary>Waits up to <paramref name="wait"/> for the cell to end. Each call renews the client's lease on the job.</summary>
    [Alias("wait")]
    Task<CellReport> Wait(string key, TimeSpan wait);

    /// <summary>Up to <paramref name="count"/> bytes of an ended cell's file from <paramref name="offset"/> (fewer at its end).</summary>
    [Alias("read")]
    Task<byte[]> Read(string key, string path, long offset, int count);

    /// <summary>Stops the cell if it runs and deletes its directory here (the client has its files, or gave up on it).</summary>
    [Alias("release")]
    Task Release(string key);
}
