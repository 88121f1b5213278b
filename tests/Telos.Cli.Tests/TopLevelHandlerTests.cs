using Spectre.Console.Testing;

namespace Telos.Cli.Tests;

public sealed class TopLevelHandlerTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-handler-tests", Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AnUnexpectedExceptionIsOneLineNamingItsStackTraceFileAndExitsOne(bool runsFolderExists)
    {
        var runs = Path.Combine(_folder, "runs");
        if (runsFolderExists)
        {
            Directory.CreateDirectory(runs);
        }
        var error = new StringWriter();
        var code = TelosApp.Guarded(new CliContext(new TestConsole(), error, runs), () => Explode());

        Assert.Equal(ExitCodes.Failure, code);
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var match = System.Text.RegularExpressions.Regex.Match(line, @"^error: unexpected InvalidOperationException: boom on two lines \(stack trace in (.+)\)$");
        Assert.True(match.Success, line);
        var file = match.Groups[1].Value;
        Assert.Equal(runsFolderExists ? Path.Combine(runs, "crashes") : Path.GetTempPath().TrimEnd('/'), Path.GetDirectoryName(file));
        Assert.Contains("at Telos.Cli.Tests.TopLevelHandlerTests.Explode()", File.ReadAllText(file), StringComparison.Ordinal);
        Assert.Equal(runsFolderExists, Directory.Exists(runs));
        if (!runsFolderExists)
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void BadInputStaysExitTwoAlsoInsideAnAggregate()
    {
        var error = new StringWriter();
        var context = new CliContext(new TestConsole(), error, Path.Combine(_folder, "runs"));
        Assert.Equal(ExitCodes.InputError, TelosApp.Guarded(context, () => throw new AggregateException(new TelosInputException("card.json: 'revision' must be an integer"))));
        Assert.Equal("error: card.json: 'revision' must be an integer\n", error.ToString().ReplaceLineEndings("\n"));
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static int Explode() => throw new InvalidOperationException("boom on\ntwo lines");
}
