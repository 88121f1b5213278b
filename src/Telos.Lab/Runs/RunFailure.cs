using System.Runtime.InteropServices;

namespace Telos.Lab.Runs;

/// <summary>The one-line message a run records when an unexpected exception ends it, and what kind of failure such a message names.</summary>
public static class RunFailure
{
    private const string NativePrefix = nameof(ExternalException) + ": ";

    /// <summary><c>TYPE: MESSAGE</c>, on one line (what <c>run.json</c>'s message and the sweep's log show).</summary>
    public static string Message(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return $"{exception.GetType().Name}: {exception.Message.ReplaceLineEndings(" ")}";
    }

    /// <summary>
    /// Whether <paramref name="message"/> (<see cref="Message"/>'s form) is an error LibTorch raised: TorchSharp turns every
    /// native error into an <see cref="ExternalException"/>. False for null, for Telos' own errors and for bad input.
    /// </summary>
    public static bool IsNative(string? message) => message is not null && message.StartsWith(NativePrefix, StringComparison.Ordinal);
}
