using Spectre.Console.Testing;

namespace Telos.Cli.Tests;

/// <summary>Runs <c>telos</c> in-process against a TestConsole and a temp runs folder.</summary>
internal sealed class CliHarness : IDisposable
{
    public CliHarness()
    {
        RunsRoot = Path.Combine(Path.GetTempPath(), "telos-cli-tests-" + Guid.NewGuid().ToString("N"));
    }

    public string RunsRoot { get; }

    public (int ExitCode, string Output, string Error) Run(params string[] args) => RunIn(RunsRoot, args);

    /// <summary>Runs <c>telos</c> with <paramref name="runsRoot"/> as the runs folder; output is 200 columns wide.</summary>
    public static (int ExitCode, string Output, string Error) RunIn(string runsRoot, params string[] args)
    {
        var console = new TestConsole();
        console.Profile.Width = 200;
        var error = new StringWriter();
        var code = TelosApp.Run(args, new CliContext(console, error, runsRoot));
        return (code, console.Output, error.ToString());
    }

    public void Dispose()
    {
        if (Directory.Exists(RunsRoot))
        {
            Directory.Delete(RunsRoot, recursive: true);
        }
    }
}
