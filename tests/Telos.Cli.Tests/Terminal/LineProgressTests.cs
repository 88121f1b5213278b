using Spectre.Console.Testing;
using Telos.Cli.Terminal;

namespace Telos.Cli.Tests.Terminal;

public sealed class LineProgressTests
{
    [Fact]
    public void PrintsAtStartEveryTenPercentEveryIntervalAndAtTheEnd()
    {
        var clock = new ManualClock();
        var output = new StringWriter();
        var progress = new LineProgress(output, clock) { Interval = TimeSpan.FromSeconds(5) };
        for (var done = 1; done <= 1000; done++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(done <= 50 ? 200 : 1));
            progress.Report(new ProgressUpdate("fit", done, 1000, "loss 0.5"));
        }
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Start, one interval line 5 s later in the slow first 50 steps, then one per 10 % mark.
        Assert.Equal("fit 1/1000 (0%) loss 0.5", lines[0]);
        Assert.StartsWith("fit 26/1000 (3%) 5.0/s ETA 03:14 ", lines[1], StringComparison.Ordinal);
        Assert.StartsWith("fit 100/1000 (10%) ", lines[2], StringComparison.Ordinal);
        Assert.Equal(12, lines.Length);
        Assert.Matches(@"^fit 1000/1000 \(100%\) [0-9.]+/s loss 0\.5$", lines[^1]);
    }

    [Fact]
    public void UnknownTotalsPrintOnlyOnTheInterval()
    {
        var clock = new ManualClock();
        var output = new StringWriter();
        var progress = new LineProgress(output, clock);
        for (var done = 1; done <= 100; done++)
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            progress.Report(new ProgressUpdate("search", done, 0));
        }
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1 + 99 / 5, lines.Length);
        Assert.Equal("search 1", lines[0]);
    }

    [Fact]
    public void AutoPicksLinesOnANonInteractiveConsoleAndSilentPrintsNothing()
    {
        var console = new TestConsole();
        Assert.Equal(ProgressMode.Lines, ProgressDisplay.Resolve(ProgressMode.Auto, console));
        var lines = new StringWriter();
        var result = ProgressDisplay.Run(console, lines, ProgressMode.Silent, p =>
        {
            p.Report(new ProgressUpdate("x", 1, 1));
            return 42;
        });
        Assert.Equal(42, result);
        Assert.Equal("", lines.ToString());
        Assert.Equal("", console.Output);
    }

    [Fact]
    public void BarModeRendersTheTaskOnTheConsole()
    {
        var console = new TestConsole().Interactive().EmitAnsiSequences();
        ProgressDisplay.Run(console, TextWriter.Null, ProgressMode.Bar, p =>
        {
            for (var i = 1; i <= 10; i++)
            {
                p.Report(new ProgressUpdate("train", i, 10, "loss 1"));
            }
            return 0;
        });
        Assert.Contains("train", console.Output, StringComparison.Ordinal);
        Assert.Contains("100%", console.Output, StringComparison.Ordinal);
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public void Advance(TimeSpan by) => _now += by;

        public override DateTimeOffset GetUtcNow() => _now;
    }
}
