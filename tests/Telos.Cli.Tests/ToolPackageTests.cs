using System.Diagnostics;
using System.Reflection;

namespace Telos.Cli.Tests;

/// <summary>
/// Packs src/Telos.Cli once with <c>dotnet pack</c> and installs it with <c>dotnet tool install</c>
/// into a temporary tool path, from a NuGet config that lists only the folder the packages were
/// written to (no other feed is asked). Everything it writes outside the build tree is deleted on
/// dispose; the pack's own build output stays in src/Telos.Cli/bin/&lt;configuration&gt;/net10.0/&lt;rid&gt;/.
/// </summary>
public sealed class PackedTool : IDisposable
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromMinutes(15);
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-tool-" + Guid.NewGuid().ToString("N"));

    public PackedTool()
    {
        Directory.CreateDirectory(_folder);
        var packages = Path.Combine(_folder, "packages");
        var toolPath = Path.Combine(_folder, "tool");
        var config = Path.Combine(_folder, "nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="packed" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        var project = Path.Combine(RepoRoot(), "src", "Telos.Cli", "Telos.Cli.csproj");
        // The configuration this test was built in, so the RID-agnostic build pack starts with is
        // up to date; --no-restore: that build restored the project (its RuntimeIdentifiers included);
        // -nodeReuse:false: no MSBuild node outlives the test.
        var configuration = typeof(TelosApp).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
        Dotnet(_folder, "pack", project, "-c", configuration, "--no-restore", "-nodeReuse:false", "-o", packages);
        Dotnet(_folder, "tool", "install", "--tool-path", toolPath, "--configfile", config, "Telos.Cli", "--version", Version);
        Command = Path.Combine(toolPath, OperatingSystem.IsWindows() ? "telos.exe" : "telos");
    }

    /// <summary>The installed <c>telos</c> command.</summary>
    public string Command { get; }

    /// <summary>The package version the build gives Telos.Cli (its informational version without the commit).</summary>
    public static string Version =>
        typeof(TelosApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

    /// <summary>Runs the installed command from the temporary folder.</summary>
    public (int ExitCode, string Output, string Error) Run(params string[] args) => Start(Command, _folder, args);

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static void Dotnet(string workingDirectory, params string[] args)
    {
        var (code, output, error) = Start(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", workingDirectory, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"dotnet {string.Join(' ', args)} exited {code}:\n{output}\n{error}");
        }
    }

    private static (int ExitCode, string Output, string Error) Start(string fileName, string workingDirectory, string[] args)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(ProcessTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} ran longer than {ProcessTimeout}");
        }
        return (process.ExitCode, output.Result, error.Result);
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Telos.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Telos.slnx) not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The packed .NET tool installs as a command named <c>telos</c> that runs.</summary>
public sealed class ToolPackageTests(PackedTool tool) : IClassFixture<PackedTool>
{
    [Fact]
    public void InstalledToolPrintsItsVersion()
    {
        var (code, output, error) = tool.Run("version");
        Assert.True(code == 0, error);
        Assert.Equal("telos " + PackedTool.Version, output.TrimEnd());
    }

    [Fact]
    public void InstalledToolHelpNamesTheCommandTelos()
    {
        var (code, output, error) = tool.Run("--help");
        Assert.True(code == 0, error);
        Assert.Equal("telos [command] [options]", UsageLine(output));
    }

    [Fact]
    public void InstalledToolLoadsLibTorch()
    {
        var (code, output, error) = tool.Run("doctor", "--json");
        Assert.True(code == 0, output + error);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        Assert.True(doc.RootElement.GetProperty("torch").GetProperty("loaded").GetBoolean(), output);
    }

    /// <summary>What follows <c>Usage: </c> on the help's first line (which must start so).</summary>
    internal static string UsageLine(string help)
    {
        var first = help.Split('\n')[0].TrimEnd('\r');
        Assert.True(first.StartsWith("Usage: ", StringComparison.Ordinal), "help does not open with 'Usage: ':\n" + help);
        return first["Usage: ".Length..];
    }
}

/// <summary>Help names the command <c>telos</c> however the process was started (here: testhost).</summary>
public sealed class CommandNameTests
{
    [Theory]
    [InlineData(new[] { "--help" }, "telos [command] [options]")]
    [InlineData(new[] { "env", "--help" }, "telos env [command] [options]")]
    [InlineData(new[] { "plan", "-h" }, "telos plan [command] [options]")]
    public void HelpUsageNamesTelos(string[] args, string expected)
    {
        using var cli = new CliHarness();
        var (code, output, error) = cli.Run(args);
        Assert.True(code == 0, error);
        Assert.Equal(expected, ToolPackageTests.UsageLine(output));
        Assert.Contains("Options:", output);
    }
}
