using System.CommandLine;
using Spectre.Console;

namespace Telos.Cli;

/// <summary>
/// What every command needs from the outside world: where to print, the global flags, and where
/// runs live. Tests build one over a <c>Spectre.Console.Testing.TestConsole</c> and read what was printed.
/// </summary>
public sealed class CliContext
{
    public CliContext(IAnsiConsole console, TextWriter error, string runsRoot)
    {
        Console = console;
        Error = error;
        RunsRoot = runsRoot;
    }

    /// <summary>Standard output, through Spectre.Console.</summary>
    public IAnsiConsole Console { get; }

    /// <summary>Standard error, for one-line error messages.</summary>
    public TextWriter Error { get; }

    /// <summary>The folder that holds run directories and the run index (default ./runs, or TELOS_RUNS).</summary>
    public string RunsRoot { get; }

    /// <summary>Global <c>--json</c>: print one JSON object instead of tables.</summary>
    public static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Print machine-readable JSON instead of tables",
        Recursive = true,
    };

    /// <summary>Global <c>--quiet</c>: no progress bars or decorative output.</summary>
    public static readonly Option<bool> QuietOption = new("--quiet", "-q")
    {
        Description = "Print only results and errors (no progress, no decoration)",
        Recursive = true,
    };

    /// <summary>Whether <c>--json</c> was given.</summary>
    public static bool Json(ParseResult result) => result.GetValue(JsonOption);

    /// <summary>Whether <c>--quiet</c> was given.</summary>
    public static bool Quiet(ParseResult result) => result.GetValue(QuietOption);

    /// <summary>Writes one line of raw text (JSON, plain results) without Spectre markup parsing.</summary>
    public void WriteLine(string text) => Console.Profile.Out.Writer.WriteLine(text);
}
