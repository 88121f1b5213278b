namespace Telos.Cli.Tests;

/// <summary><c>telos studio</c> refuses bad starts before it listens (the server itself is tested in Telos.Studio.Tests).</summary>
public sealed class StudioCommandTests
{
    [Theory]
    [InlineData("--listen", "localhost", "error: --listen 'localhost': expected an IP address such as 127.0.0.1 (host names are not resolved)")]
    [InlineData("--port", "70000", "error: --port 70000 must be 0 (any free port) to 65535")]
    [InlineData("--seed", "-4", "error: seed -4 must be 0 to 2147483647")]
    [InlineData("--objective", "missing-card.json", "error: objective file 'missing-card.json' does not exist; pass an objective card file or a maze reference: true (the maze's own reward: 10·at_cheese), corner (the proxy: 10·at_corner (the top-right corner))")]
    public void BadStartsExit2WithOneLineAndListenNowhere(string option, string value, string message)
    {
        using var cli = new CliHarness();
        var (code, output, error) = cli.Run("studio", option, value);
        Assert.Equal(2, code);
        Assert.Equal(message, error.Trim());
        Assert.DoesNotContain("http://", output, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownDistributionIsNamed()
    {
        using var cli = new CliHarness();
        var (code, _, error) = cli.Run("studio", "--env", "maze/nowhere");
        Assert.Equal(2, code);
        // Other tests may register families of their own, so the list of known ones ends differently.
        Assert.StartsWith("error: unknown task distribution 'maze/nowhere'; known: maze/train, maze/test, maze/far, kc/train, kc/test", error.Trim());
    }
}
