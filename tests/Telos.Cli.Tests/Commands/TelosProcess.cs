using System.Diagnostics;
using Spectre.Console.Testing;

namespace Telos.Cli.Tests.Commands;

/// <summary><c>telos</c> for kill tests: a real process (<c>dotnet Telos.Cli.dll</c> from the test's output folder) to kill, and in-process runs to compare with.</summary>
internal static class TelosProcess
{
    /// <summary>
    /// Starts <c>telos ARGS</c> with <paramref name="runsRoot"/> as TELOS_RUNS, reads its stderr (where progress goes) until a
    /// line matches <paramref name="killWhen"/>, then kills it without warning (SIGKILL) and waits for it to exit.
    /// </summary>
    /// <returns>The line that triggered the kill, or null when the process ended first.</returns>
    public static string? KillWhen(string runsRoot, Func<string, bool> killWhen, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Telos.Cli.dll"));
        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["TELOS_RUNS"] = runsRoot;
        using var child = Process.Start(start)!;
        child.BeginOutputReadLine();
        string? line;
        while ((line = child.StandardError.ReadLine()) is not null && !killWhen(line))
        {
        }
        child.Kill();
        child.WaitForExit();
        return line;
    }

    /// <summary>Runs <c>telos ARGS --quiet</c> in this process with <paramref name="runsRoot"/> as the runs folder; returns the exit code.</summary>
    public static int InProcess(string runsRoot, params string[] args) =>
        TelosApp.Run([.. args, "--quiet"], new CliContext(new TestConsole(), new StringWriter(), runsRoot));

    /// <summary>
    /// Waits until no process's command line mentions <paramref name="text"/> (read from /proc: a process exists with its
    /// arguments from the moment it is started, before it has written anything), or <paramref name="timeout"/> passes.
    /// </summary>
    /// <returns>Whether none is left.</returns>
    public static bool WaitUntilNoneMentions(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (Directory.EnumerateDirectories("/proc").Any(dir => Mentions(dir, text)))
        {
            if (clock.Elapsed > timeout)
            {
                return false;
            }
            Thread.Sleep(100);
        }
        return true;
    }

    private static bool Mentions(string procDir, string text)
    {
        if (!int.TryParse(Path.GetFileName(procDir), out var pid) || pid == Environment.ProcessId)
        {
            return false;
        }
        try
        {
            return File.ReadAllText(Path.Combine(procDir, "cmdline")).Contains(text, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;   // the process ended while we looked
        }
    }
}
