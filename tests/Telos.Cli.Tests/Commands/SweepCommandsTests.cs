namespace Telos.Cli.Tests.Commands;

public sealed class SweepCommandsTests
{
    [Fact]
    public void JobsBelowOneIsBadInputAndWritesNothing()
    {
        using var cli = new CliHarness();
        var config = Path.Combine(Path.GetTempPath(), $"telos-sweep-{Guid.NewGuid():N}.toml");
        File.WriteAllText(config, "experiment = \"mlp-regression\"\n[sweep]\nseeds = [1]\n");
        try
        {
            var (code, _, error) = cli.Run("run", config, "--jobs", "0");
            Assert.Equal(2, code);
            Assert.Equal("error: --jobs: expected integer >= 1, got 0", error.Trim());
            Assert.False(Directory.Exists(cli.RunsRoot));
        }
        finally
        {
            File.Delete(config);
        }
    }

    [Fact]
    public void ACellWithoutItsConfigIsBadInputAndWritesNothing()
    {
        using var cli = new CliHarness();
        var dir = Path.Combine(cli.RunsRoot, "cell");
        Directory.CreateDirectory(dir);
        var (code, _, error) = cli.Run("cell", dir);
        Assert.Equal(2, code);
        Assert.Equal($"error: {Path.Combine(dir, "config.toml")}: missing; a cell directory holds its config.toml", error.Trim());
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }
}
