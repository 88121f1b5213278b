using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Testing.Browser;
using Telos.Lab.Tests.Reinforcement;

namespace Telos.Lab.Tests.Reports;

/// <summary>The ppo experiment ends with results.json (rates with their counts) and a report.html that renders in Chromium.</summary>
[Collection("torch")]
public sealed class PpoReportTests
{
    [Fact]
    public async Task APpoRunWritesItsResultsAndAReportThatRendersInChromium()
    {
        using var temp = new TempFolder();
        var runner = new ExperimentRunner(new RunStore(temp.Combine("runs")), ExperimentCatalog.Discover());
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(PpoExperimentTests.Tiny, "tiny.toml"), "tiny"), new Progress<ProgressUpdate>());
        Assert.Equal(0, outcome.ExitCode);

        var results = RunResults.Read(Path.Combine(outcome.Record.Directory, RunResults.FileName));
        Assert.Equal(
            ["maze/train/success", "maze/train/success_ceiling", "maze/train/proxy", "maze/train/proxy_ceiling", "maze/train/mean_return", "maze/train/mean_steps",
             "maze/test/success", "maze/test/success_ceiling", "maze/test/proxy", "maze/test/proxy_ceiling", "maze/test/mean_return", "maze/test/mean_steps"],
            results.Items.Select(i => i.Name));
        Assert.Equal(20, results.Items[6].Rate!.Value.Of);
        var report = File.ReadAllText(Path.Combine(outcome.Record.Directory, "report.html"));
        Assert.Contains($"source: run {outcome.Record.Id}: metrics.csv", report, StringComparison.Ordinal);

        var page = await HeadlessChromium.OpenAsync(Path.Combine(outcome.Record.Directory, "report.html"));

        Assert.Empty(page.Errors);
        Assert.Equal(4, page.Figures.Count);   // return, losses, entropy, success/proxy bars
        Assert.All(page.Figures, f => Assert.True(f.Width > 50 && f.Height > 50, $"figure rendered {f.Width} × {f.Height}"));
    }
}
