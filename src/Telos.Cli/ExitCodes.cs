namespace Telos.Cli;

/// <summary>Process exit codes of <c>telos</c>.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The command ran and failed (a check did not pass, a run crashed).</summary>
    public const int Failure = 1;

    /// <summary>Bad usage or bad input (unknown option, malformed config, corrupt file).</summary>
    public const int InputError = 2;
}
