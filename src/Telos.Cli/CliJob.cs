using System.CommandLine;
using System.Runtime.InteropServices;
using Telos.Cli.Terminal;

namespace Telos.Cli;

/// <summary>
/// Runs a long job from a command: progress as a bar on a terminal, plain lines on stderr otherwise,
/// nothing with <c>--quiet</c>; the first SIGINT (Ctrl+C) or SIGTERM cancels the token, a second one kills.
/// </summary>
public static class CliJob
{
    /// <summary>Runs <paramref name="job"/> on this thread with progress and a cancellation token.</summary>
    public static T Run<T>(CliContext context, ParseResult result, Func<IProgress<ProgressUpdate>, CancellationToken, T> job)
    {
        var mode = CliContext.Quiet(result) ? ProgressMode.Silent : ProgressMode.Auto;
        using var cancel = new CancellationTokenSource();
        void OnSignal(PosixSignalContext signal)
        {
            signal.Cancel = !cancel.IsCancellationRequested;
            cancel.Cancel();
        }
        using (PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal))
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal))
        {
            return ProgressDisplay.Run(context.Console, context.Error, mode, progress => job(progress, cancel.Token));
        }
    }
}
