using Telos.Agents;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;
using Telos.Statistics;

namespace Telos.Lab.Tests.Sweeps;

public sealed class SweepTests
{
    private const string Probe = """
        experiment = "sweep-probe"
        levels = 40

        [sweep]
        seeds = [5, 1, 9]

        [sweep.axes]
        scale = [1.0, 2.5]
        fail = [false]
        """;

    private static ExperimentRunner Runner(TempFolder temp) => new(new RunStore(temp.Combine("runs")), ExperimentCatalog.Discover());

    private static PreparedRun Prepare(ExperimentRunner runner, string text) => runner.Prepare(ConfigFile.Parse(text, "probe.toml"), "probe");

    [Fact]
    public void CellsAreEveryCombinationConfigurationMajorWithOneResolvedConfigEach()
    {
        using var temp = new TempFolder();
        var plan = Prepare(Runner(temp), Probe).Sweep!;

        Assert.Equal(6, plan.Cells.Count);
        Assert.Equal(2, plan.Configurations);
        Assert.Equal([0, 0, 0, 1, 1, 1], plan.Cells.Select(c => c.Configuration));
        Assert.Equal([5L, 1, 9, 5, 1, 9], plan.Cells.Select(c => c.Seed));
        Assert.Equal("scale=2.5, fail=false, seed=1", plan.CellLabel(plan.Cells[4]));
        Assert.Equal("004", plan.Cells[4].DirectoryName);
        var cell = ConfigFile.Parse(plan.Cells[4].ResolvedToml, "cell.toml");
        Assert.Equal(1, cell.GetLong("seed", -1));
        Assert.Equal(2.5, cell.GetDouble("scale", -1));
        Assert.Equal(40, cell.GetInt("levels", -1));
        Assert.False(cell.Contains("sweep"));
    }

    [Theory]
    [InlineData("seeds = [5, 1, 9]", "seeds = [5, 1, 5]", "probe.toml:5: key 'sweep.seeds': a seed is listed twice")]
    [InlineData("levels = 40", "levels = 40\nseed = 3", "probe.toml:3: key 'seed': a sweep takes its seeds from [sweep] seeds")]
    [InlineData("fail = [false]", "fail = [false]\nlevls = [1, 2]", "[sweep] cell (scale=1.0, fail=false, levls=1, seed=5): probe.toml:10: key 'levls': unknown key")]
    [InlineData("scale = [1.0, 2.5]", "scale = [1.0, 200.0]", "[sweep] cell (scale=200.0, fail=false, seed=5): probe.toml:8: key 'scale': expected float in [0.0, 100.0], got 200.0")]
    [InlineData("scale = [1.0, 2.5]", "scale = [1.0, 1.0]", "probe.toml:8: key 'sweep.axes.scale[1]': 1.0 is listed twice")]
    public void BadSweepsFailBeforeAnythingIsWritten(string line, string replacement, string expectedPrefix)
    {
        using var temp = new TempFolder();
        var error = Assert.Throws<TelosInputException>(() => Prepare(Runner(temp), Probe.Replace(line, replacement, StringComparison.Ordinal)));
        Assert.StartsWith(expectedPrefix, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(temp.Combine("runs")));
    }

    [Fact]
    public void ASeedOverrideIsRefusedForASweep()
    {
        using var temp = new TempFolder();
        var error = Assert.Throws<TelosInputException>(() => Runner(temp).Prepare(ConfigFile.Parse(Probe, "probe.toml"), "probe", seedOverride: 4));
        Assert.Equal("--seed: a sweep takes its seeds from [sweep] seeds", error.Message);
    }

    [Fact]
    public void TheSweepsConfigTomlPreparesAgainToTheSameCells()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var first = Prepare(runner, Probe);
        var again = runner.Prepare(ConfigFile.Parse(first.ResolvedToml, "config.toml"), "probe");
        Assert.Equal(first.ResolvedToml, again.ResolvedToml);
        Assert.Equal(first.Sweep!.Cells.Select(c => c.ResolvedToml), again.Sweep!.Cells.Select(c => c.ResolvedToml));
    }

    [Fact]
    public void ASweepRunsEveryCellAsARunAndMergesMeansWithTIntervalsOverSeeds()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var outcome = runner.Start(Prepare(runner, Probe), new Progress<ProgressUpdate>());

        Assert.Equal(0, outcome.ExitCode);
        var dir = outcome.Record.Directory;
        var plan = Prepare(runner, Probe).Sweep!;
        var scores = new List<double>();
        foreach (var cell in plan.Cells)
        {
            var cellDir = SweepRunner.CellDirectory(dir, cell);
            Assert.Equal(RunStatus.Completed, RunRecordFile.Read(cellDir)!.Status);
            Assert.Equal(cell.ResolvedToml, File.ReadAllText(Path.Combine(cellDir, "config.toml")));
            Assert.Equal(3, RunFiles.ReadMetrics(cellDir).Count);
            scores.Add(RunResults.Read(Path.Combine(cellDir, RunResults.FileName)).Items.Single(i => i.Name == "score").Value);
        }
        // The table's mean and interval for configuration 1's score are those of its three seeds' values.
        var expected = MeanInterval.Of(scores.Skip(3).ToArray());
        var csv = File.ReadAllLines(Path.Combine(dir, "tables.csv"));
        Assert.Equal("configuration,scale,fail,result,seeds,mean,ci_low,ci_high", csv[0]);
        Assert.Contains(FormattableString.Invariant($"1,2.5,false,score,3,{expected.Mean:R},{expected.Low:R},{expected.High:R}"), csv);
        Assert.True(File.Exists(Path.Combine(dir, "report.html")));
        Assert.Equal(RunStatus.Completed, new RunStore(temp.Combine("runs")).Find(outcome.Record.Id).Status);
    }

    [Fact]
    public void AFailingCellIsRecordedWithItsErrorAndTheOthersAreMerged()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var outcome = runner.Start(Prepare(runner, Probe.Replace("fail = [false]", "fail = [false, true]", StringComparison.Ordinal)), new Progress<ProgressUpdate>());

        Assert.Equal(1, outcome.ExitCode);
        Assert.Equal("6 of 12 cells failed (see report.md; the tables merge the others)", outcome.Record.Message);
        var tables = File.ReadAllText(Path.Combine(outcome.Record.Directory, "tables.md"));
        Assert.Contains("| 003 | scale=1.0, fail=true, seed=5 | InvalidOperationException: probe asked to fail |", tables, StringComparison.Ordinal);
        Assert.DoesNotContain("running it again", File.ReadAllText(Path.Combine(outcome.Record.Directory, "log.txt")), StringComparison.Ordinal);
        var csv = File.ReadAllLines(Path.Combine(outcome.Record.Directory, "tables.csv"));
        Assert.Equal(2 * 2, csv.Length - 1);   // two configurations with results × two results
        Assert.DoesNotContain(csv, l => l.Contains(",true,", StringComparison.Ordinal));
    }

    /// <summary>
    /// A cell that fails inside LibTorch is run again, up to <see cref="SweepRunner.NativeFailureRetries"/> times, and its numbers
    /// are those of a cell that never failed; one that fails there every time is recorded after the last attempt; a cell's own
    /// error is recorded at once (the test above).
    /// </summary>
    [Theory]
    [InlineData(1, 0)]
    [InlineData(SweepRunner.NativeFailureRetries, 0)]
    [InlineData(SweepRunner.NativeFailureRetries + 1, 1)]
    public void ACellThatFailsInsideLibTorchIsRunAgain(int nativeFailures, int failedCells)
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var counter = temp.Combine("native-failures.txt");
        const string OneCell = """
            experiment = "sweep-probe"
            levels = 40

            [sweep]
            seeds = [5]

            [sweep.axes]
            scale = [2.5]
            """;
        var failing = OneCell.Replace("levels = 40", $"levels = 40\nnative_failures = {nativeFailures}\ncounter = \"{counter.Replace("\\", "/", StringComparison.Ordinal)}\"", StringComparison.Ordinal);
        var outcome = runner.Start(Prepare(runner, failing), new Progress<ProgressUpdate>());

        Assert.Equal(Math.Min(nativeFailures, SweepRunner.NativeFailureRetries + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(counter));
        Assert.Equal(failedCells == 0 ? 0 : 1, outcome.ExitCode);
        var log = File.ReadAllText(Path.Combine(outcome.Record.Directory, "log.txt"));
        Assert.Contains("failed inside LibTorch after", log, StringComparison.Ordinal);
        Assert.Contains($"running it again (attempt 2 of {SweepRunner.NativeFailureRetries + 1})", log, StringComparison.Ordinal);
        Assert.Equal(Math.Min(nativeFailures, SweepRunner.NativeFailureRetries), log.Split("running it again").Length - 1);
        var cell = SweepRunner.CellDirectory(outcome.Record.Directory, Prepare(runner, failing).Sweep!.Cells[0]);
        var record = RunRecordFile.Read(cell)!;
        if (failedCells == 0)
        {
            Assert.Equal(RunStatus.Completed, record.Status);
            var straight = runner.Start(Prepare(runner, OneCell), new Progress<ProgressUpdate>());
            var straightCell = SweepRunner.CellDirectory(straight.Record.Directory, Prepare(runner, OneCell).Sweep!.Cells[0]);
            Assert.Equal(
                RunResults.Read(Path.Combine(straightCell, RunResults.FileName)).Items.Select(i => (i.Name, i.Value)),
                RunResults.Read(Path.Combine(cell, RunResults.FileName)).Items.Select(i => (i.Name, i.Value)));
        }
        else
        {
            Assert.Equal(RunStatus.Failed, record.Status);
            Assert.True(RunFailure.IsNative(record.Message), record.Message);
        }
    }

    [Fact]
    public void AnInterruptedSweepResumedCellByCellGivesTheTablesOfAStraightOne()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var straight = runner.Start(Prepare(runner, Probe), new Progress<ProgressUpdate>());

        using var cancel = new CancellationTokenSource();
        var stopped = runner.Start(Prepare(runner, Probe), new StopAfter(4, cancel), cancel.Token);
        Assert.Equal(RunStatus.Interrupted, stopped.Record.Status);
        var dir = stopped.Record.Directory;
        Assert.False(File.Exists(Path.Combine(dir, "tables.md")));
        var plan = Prepare(runner, Probe).Sweep!;
        Assert.Equal(4, plan.Cells.Count(c => SweepRunner.State(dir, c) == CellState.Done));
        // Lose a finished cell too: the resume reruns it after the others, so cells finish out of index order.
        Directory.Delete(SweepRunner.CellDirectory(dir, plan.Cells[0]), recursive: true);
        var before = File.GetLastWriteTimeUtc(Path.Combine(SweepRunner.CellDirectory(dir, plan.Cells[1]), RunRecordFile.FileName));

        var resumed = runner.Resume(stopped.Record.ShortId, new Progress<ProgressUpdate>());

        Assert.Equal(0, resumed.ExitCode);
        Assert.Equal(before, File.GetLastWriteTimeUtc(Path.Combine(SweepRunner.CellDirectory(dir, plan.Cells[1]), RunRecordFile.FileName)));
        foreach (var file in new[] { "tables.md", "tables.csv" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(straight.Record.Directory, file)), File.ReadAllBytes(Path.Combine(dir, file)));
        }
    }

    [Fact]
    public void TablesAreOrderedByCellNotByTheOrderResultsArrive()
    {
        using var temp = new TempFolder();
        var plan = Prepare(Runner(temp), Probe).Sweep!;
        // Seed values 0.1, 0.2, 0.3 sum to different doubles in different orders; the last cell reports an extra result first.
        var results = plan.Cells.Select(c =>
        {
            var results = new RunResults();
            if (c.Index == plan.Cells.Count - 1)
            {
                results.Add("extra", 1);
            }
            return (c, results.Add("score", (0.1 * ((c.Index % 3) + 1)) + (c.Configuration * 4.5)).Add("test/success", new Rate(c.Index, 10)));
        }).ToList();
        var inOrder = SweepTables.Merge("s", plan, results, []);
        var reversed = SweepTables.Merge("s", plan, Enumerable.Reverse(results), []);

        Assert.Equal(inOrder.ToMarkdown(), reversed.ToMarkdown());
        Assert.Equal(inOrder.ToCsv(), reversed.ToCsv());
        Assert.Equal(["score", "test/success", "extra"], inOrder.Names);
        var csv = inOrder.ToCsv().Split('\n');
        Assert.Equal(FormattableString.Invariant($"0,1.0,false,score,3,{(0.1 + 0.2 + 0.30000000000000004) / 3:R},{MeanInterval.Of([0.1, 0.2, 0.30000000000000004]).Low:R},{MeanInterval.Of([0.1, 0.2, 0.30000000000000004]).High:R}"), csv[1]);
        Assert.Equal("1,2.5,false,extra,1,1,,", csv[^2]);
        // The score's interval reaches below 0 (it is not a rate: kept, as the CSV line above says); the success rate's t
        // interval, 0.1 ± 0.248414, is clipped to [0, 1].
        Assert.True(MeanInterval.Of([0.1, 0.2, 0.30000000000000004]).Low < 0);
        Assert.Contains("| scale=1.0, fail=false | 3 | 0.1 | [0, 0.348414] | 0.000 (0/10; Wilson [0.000, 0.278]) | 0.100 (1/10; Wilson [0.018, 0.404]) | 0.200 (2/10; Wilson [0.057, 0.510]) |", inOrder.ToMarkdown(), StringComparison.Ordinal);
    }

    private sealed class StopAfter(int cells, CancellationTokenSource cancel) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
            if (value.Done >= cells)
            {
                cancel.Cancel();
            }
        }
    }
}

public sealed class MeanIntervalTests
{
    [Fact]
    public void ABoundedQuantitysIntervalIsClippedToItsRangeAndKeepsItsMean()
    {
        var wide = MeanInterval.Of([0.0, 0.0, 0.5, 0.6, 0.7]);
        Assert.True(wide.Low < 0);

        var clipped = wide.ClippedTo(0, 1);

        Assert.Equal(new MeanInterval(wide.Mean, 0, wide.High, 5), clipped);
        var high = MeanInterval.Of([1.0, 1.0, 0.9]).ClippedTo(0, 1);
        Assert.Equal(1.0, high.High);
        Assert.Equal(MeanInterval.Of([1.0, 1.0, 0.9]).Low, high.Low);
        Assert.Equal(MeanInterval.Of([0.25]), MeanInterval.Of([0.25]).ClippedTo(0, 1));
        Assert.Throws<ArgumentException>(() => wide.ClippedTo(1, 0));
        Assert.Throws<ArgumentException>(() => MeanInterval.Of([2.0, 3.0]).ClippedTo(0, 1));
    }

    [Fact]
    public void TheIntervalIsTheStudentTIntervalOverReplicates()
    {
        var interval = MeanInterval.Of([1.0, 2.0, 3.0]);
        Assert.Equal(2.0, interval.Mean);
        Assert.Equal(2 - (4.302652730 / Math.Sqrt(3)), interval.Low, 12);
        Assert.Equal(2 + (4.302652730 / Math.Sqrt(3)), interval.High, 12);
        var one = MeanInterval.Of([0.25]);
        Assert.False(one.HasInterval);
        Assert.Equal((0.25, 0.25), (one.Low, one.High));
    }

    [Theory]
    [InlineData(31, 2.039513446)]
    [InlineData(40, 2.021075390)]
    [InlineData(60, 2.000297822)]
    [InlineData(120, 1.979930405)]
    [InlineData(1000, 1.962339081)]
    public void BeyondTheTableTheExpansionMatchesTheQuantile(int df, double expected) =>
        Assert.Equal(expected, MeanInterval.TQuantile975(df), 6);
}
