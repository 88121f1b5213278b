namespace Telos.Lab.Runs;

/// <summary>Where a run stands. Stored in the index as lower-case text.</summary>
public enum RunStatus
{
    /// <summary>Started and not yet ended (or its process died without saying so; see <see cref="RunRecord.ProcessAlive"/>).</summary>
    Running,

    /// <summary>The experiment finished.</summary>
    Completed,

    /// <summary>The experiment threw; <see cref="RunRecord.Message"/> says why.</summary>
    Failed,

    /// <summary>Stopped on request (Ctrl+C, cancellation); <c>telos resume</c> continues it.</summary>
    Interrupted,
}

/// <summary>One row of the run index (<c>runs.db</c>).</summary>
/// <param name="Id">The run's directory name, <c>&lt;name&gt;-&lt;yyyyMMddTHHmmssZ&gt;-&lt;short id&gt;</c>.</param>
/// <param name="ShortId">8 hex digits, unique in the store; any unique prefix of it or of <paramref name="Id"/> opens the run.</param>
/// <param name="Name">The run's name (from <c>--name</c> or the config file's stem).</param>
/// <param name="Kind">The experiment kind (<c>experiment = "..."</c>).</param>
/// <param name="Status">Current status.</param>
/// <param name="ConfigHash">16 hex digits of SHA-256 over the resolved config text (seed included).</param>
/// <param name="Seed">The root seed.</param>
/// <param name="GitCommit">HEAD of the source tree the run started from, or "unknown".</param>
/// <param name="StartedUtc">When the run was created.</param>
/// <param name="EndedUtc">When it last completed, failed or was interrupted; null while running.</param>
/// <param name="Directory">Absolute path of the run directory.</param>
/// <param name="Pid">Process id of the process that last ran it.</param>
/// <param name="Message">The failure or interruption message, if any.</param>
public sealed record RunRecord(
    string Id,
    string ShortId,
    string Name,
    string Kind,
    RunStatus Status,
    string ConfigHash,
    long Seed,
    string GitCommit,
    DateTimeOffset StartedUtc,
    DateTimeOffset? EndedUtc,
    string Directory,
    int Pid,
    string? Message)
{
    /// <summary>Whether a run marked <see cref="RunStatus.Running"/> still has a live process (false for other statuses).</summary>
    public bool ProcessAlive => Status == RunStatus.Running && IsAlive(Pid);

    /// <summary>The status as printed: "running", "completed", ..., or "running (process gone)" for a run whose process died.</summary>
    public string StatusText => Status == RunStatus.Running && !ProcessAlive ? "running (process gone)" : RunIndex.StatusName(Status);

    private static bool IsAlive(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
