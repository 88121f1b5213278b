using Telos.Lab.Runs;

namespace Telos.Lab.Tests.Runs;

[Collection("torch")]
public sealed class MetricsTests
{
    [Fact]
    public void HeaderGrowsEarlierRowsGetEmptyCellsAndTensorBoardGetsEveryScalar()
    {
        using var temp = new TempFolder();
        using var run = new RunStore(temp.Path).Create("m", "k", "", 0);
        run.LogMetrics(1, new Dictionary<string, double> { ["loss"] = 0.5 });
        run.LogMetrics(2, new Dictionary<string, double> { ["loss"] = 0.25, ["acc"] = 0.75 });
        run.LogMetrics(3, new Dictionary<string, double> { ["acc"] = 1 });
        Assert.Equal("step,loss,acc\n1,0.5,\n2,0.25,0.75\n3,,1\n", File.ReadAllText(run.MetricsPath));
        var rows = run.ReadMetrics();
        Assert.Equal([1L, 2, 3], rows.Select(r => r.Step));
        Assert.False(rows[0].Values.ContainsKey("acc"));
        Assert.Equal(0.75, rows[1].Values["acc"]);
        // The TensorBoard events carry each tag and each value (as the float32 a scalar summary holds).
        var events = Directory.GetFiles(run.TensorBoardPath, "events.out.tfevents.*").SelectMany(f =>
        {
            using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }).ToArray();
        foreach (var tag in new[] { "loss", "acc" })
        {
            Assert.True(events.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(tag)) >= 0, $"no '{tag}' tag in the TensorBoard events");
        }
        foreach (var value in new[] { 0.5f, 0.25f, 0.75f, 1f })
        {
            Assert.True(events.AsSpan().IndexOf(BitConverter.GetBytes(value)) >= 0, $"no scalar {value} in the TensorBoard events");
        }
        Assert.Empty(temp.TempFiles());
    }

    [Fact]
    public void ATornLastLineIsIgnoredAndRepairedOnReopen()
    {
        using var temp = new TempFolder();
        var store = new RunStore(temp.Path);
        string id;
        using (var run = store.Create("m", "k", "", 0))
        {
            id = run.Id;
            run.LogMetrics(1, new Dictionary<string, double> { ["loss"] = 1 });
            run.LogMetrics(2, new Dictionary<string, double> { ["loss"] = 2 });
        }
        using (var reopened = store.Open(id))
        {
            // A kill in the middle of an append leaves a line without its newline.
            File.AppendAllText(reopened.MetricsPath, "3,0.12");
            Assert.Equal([1L, 2], reopened.ReadMetrics().Select(r => r.Step));
            reopened.LogMetrics(3, new Dictionary<string, double> { ["loss"] = 3 });
            Assert.Equal("step,loss\n1,1\n2,2\n3,3\n", File.ReadAllText(reopened.MetricsPath));
        }
    }

    [Fact]
    public void TruncateAfterDropsLaterRows()
    {
        using var temp = new TempFolder();
        using var run = new RunStore(temp.Path).Create("m", "k", "", 0);
        for (var step = 10; step <= 50; step += 10)
        {
            run.LogMetrics(step, new Dictionary<string, double> { ["loss"] = step });
        }
        run.TruncateMetricsAfter(30);
        run.LogMetrics(40, new Dictionary<string, double> { ["loss"] = -1 });
        Assert.Equal("step,loss\n10,10\n20,20\n30,30\n40,-1\n", File.ReadAllText(run.MetricsPath));
    }

    [Theory]
    [InlineData("step")]
    [InlineData("a,b")]
    [InlineData("")]
    public void BadMetricNamesAreRejected(string name)
    {
        using var temp = new TempFolder();
        using var run = new RunStore(temp.Path).Create("m", "k", "", 0);
        Assert.Throws<ArgumentException>(() => run.LogMetrics(1, new Dictionary<string, double> { [name] = 1 }));
    }

    [Theory]
    [InlineData("step,loss\n1,abc\n", ":2: column 'loss': 'abc' is not a number")]
    [InlineData("step,loss\n1,1,2\n", ":2: 3 cells, but the header has 2 columns")]
    [InlineData("step,loss\nx,1\n", ":2: step 'x' is not an integer")]
    [InlineData("loss\n1\n", ":1: not a metrics file (first column must be 'step')")]
    public void ADamagedMetricsFileIsOneLineNamingFileAndLine(string text, string expected)
    {
        using var temp = new TempFolder();
        var dir = temp.Combine("run");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "metrics.csv"), text);
        var error = Assert.Throws<TelosInputException>(() => RunFiles.ReadMetrics(dir));
        Assert.Equal(Path.Combine(dir, "metrics.csv") + expected, error.Message);
    }
}
