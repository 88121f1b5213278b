using System.Globalization;
using Telos.IO;

namespace Telos.Cli;

/// <summary>
/// Where an unexpected exception's stack trace goes when no run is there to log it (an experiment's own
/// exceptions go to its run's <c>log.txt</c>): <c>RUNS/crashes/telos-STAMP-PID.txt</c> when the runs folder
/// exists, else the same name in the system temp folder, so a command that has nothing to do with runs
/// never creates a runs folder.
/// </summary>
internal static class CrashLog
{
    /// <summary>Writes the exception with its stack trace; returns the file's path, or null when neither place is writable.</summary>
    public static string? Write(string runsRoot, Exception exception)
    {
        var stamp = DateTimeOffset.UtcNow.ToString("yyyyMMdd'T'HHmmss.fff'Z'", CultureInfo.InvariantCulture);
        var name = $"telos-{stamp}-{Environment.ProcessId}.txt";
        var text = $"telos {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}\n{exception}\n";
        var folders = Directory.Exists(runsRoot) ? new[] { Path.Combine(runsRoot, "crashes"), Path.GetTempPath() } : [Path.GetTempPath()];
        foreach (var folder in folders)
        {
            try
            {
                Directory.CreateDirectory(folder);
                var path = Path.Combine(folder, name);
                AtomicFile.WriteAllText(path, text);
                return path;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        return null;
    }
}
