using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;

namespace Telos.Cli.Tests.Commands;

[Collection("torch")]
public sealed class ResumeCommandTests : IDisposable
{
    private readonly CliHarness _cli = new();

    [Fact]
    public void ResumeSaysWhichDamagedCheckpointItSkipped()
    {
        var runner = new ExperimentRunner(new RunStore(_cli.RunsRoot), ExperimentCatalog.Discover());
        using var cancel = new CancellationTokenSource();
        var config = "experiment = \"mlp-regression\"\nseed = 3\nsteps = 8\nbatch_size = 4\nhidden = [4]\neval_points = 8\nlog_every = 1\ncheckpoint_every = 2\n";
        var record = runner.Start(runner.Prepare(ConfigFile.Parse(config, "c.toml"), "c"), new CancelAt(4, cancel), cancel.Token).Record;
        var newest = RunFiles.Checkpoints(record.Directory)[^1];
        Assert.Equal(4, newest.Step);
        File.WriteAllText(newest.SidecarPath, "{ \"format\": ");

        var (code, output, error) = _cli.Run("--quiet", "resume", record.ShortId);

        Assert.Equal(0, code);
        Assert.StartsWith($"run {record.Id} completed", output, StringComparison.Ordinal);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"warning: skipping damaged checkpoint step-0000000004.json: {newest.SidecarPath}: unreadable checkpoint sidecar: ", lines[0], StringComparison.Ordinal);
        Assert.Equal("resuming from checkpoint step 2", lines[1]);
    }

    public void Dispose() => _cli.Dispose();

    private sealed class CancelAt(long stopAt, CancellationTokenSource cancel) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
            if (value.Done >= stopAt)
            {
                cancel.Cancel();
            }
        }
    }
}
