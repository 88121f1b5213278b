using System.Text.Json;

namespace Telos.Cli.Tests;

public sealed class SystemCommandsTests
{
    [Fact]
    public void DoctorJsonReportsTorchLoaded()
    {
        using var cli = new CliHarness();
        var (code, output, error) = cli.Run("doctor", "--json");
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        var torch = doc.RootElement.GetProperty("torch");
        Assert.True(torch.GetProperty("loaded").GetBoolean(), torch.GetProperty("error").ToString());
        Assert.StartsWith("2.", torch.GetProperty("libtorch").GetString());
        Assert.Equal(Environment.ProcessorCount, doc.RootElement.GetProperty("cores").GetInt32());
    }

    [Fact]
    public void DoctorTableNamesTheChecks()
    {
        using var cli = new CliHarness();
        var (code, output, _) = cli.Run("doctor");
        Assert.Equal(0, code);
        Assert.Contains("LibTorch", output);
        Assert.Contains("loaded", output);
        Assert.Contains("GLIBCXX_3.4.32", output);
    }

    [Fact]
    public void VersionPrintsSemanticVersion()
    {
        using var cli = new CliHarness();
        var (code, output, _) = cli.Run("version", "--json");
        Assert.Equal(0, code);
        var version = JsonDocument.Parse(output).RootElement.GetProperty("version").GetString();
        Assert.Matches(@"^\d+\.\d+\.\d+", version);
    }

    [Theory]
    [InlineData("no-such-command")]
    [InlineData("doctor", "--no-such-flag")]
    public void UsageErrorsExitWithTwoAndOneErrorLine(params string[] args)
    {
        using var cli = new CliHarness();
        var (code, _, error) = cli.Run(args);
        Assert.Equal(ExitCodes.InputError, code);
        Assert.StartsWith("error: ", error);
    }

    [Fact]
    public void EveryCommandHasHelp()
    {
        using var cli = new CliHarness();
        var root = TelosApp.BuildRoot(new CliContext(new Spectre.Console.Testing.TestConsole(), TextWriter.Null, cli.RunsRoot));
        foreach (var command in Walk(root))
        {
            Assert.False(string.IsNullOrWhiteSpace(command.Description), $"command '{command.Name}' has no description");
        }
        var (code, output, _) = cli.Run("--help");
        Assert.Equal(0, code);
        Assert.Contains("doctor", output);
    }

    private static IEnumerable<System.CommandLine.Command> Walk(System.CommandLine.Command command)
    {
        yield return command;
        foreach (var sub in command.Subcommands)
        {
            foreach (var nested in Walk(sub))
            {
                yield return nested;
            }
        }
    }
}
