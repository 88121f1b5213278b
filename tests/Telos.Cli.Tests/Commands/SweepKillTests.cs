using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;

namespace Telos.Cli.Tests.Commands;

/// <summary>SIGKILL a real <c>telos run</c> of a sweep after some cells finished, resume it, and compare its tables with an uninterrupted sweep's.</summary>
public sealed class SweepKillTests : IDisposable
{
    internal const string Config = """
        experiment = "mlp-regression"
        steps = 60
        batch_size = 16
        hidden = [8]
        eval_points = 32
        log_every = 10
        checkpoint_every = 20

        [sweep]
        seeds = [1, 2]

        [sweep.axes]
        learning_rate = [0.01, 0.03]
        """;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-sweep-kill-tests", Guid.NewGuid().ToString("N"));

    public SweepKillTests() => Directory.CreateDirectory(_folder);

    [Fact]
    public void AKilledSweepResumedWithTheSameCommandGivesTheTablesOfAnUninterruptedOne()
    {
        var config = Path.Combine(_folder, "sweep.toml");
        File.WriteAllText(config, Config);
        var killedRoot = Path.Combine(_folder, "killed");

        // Progress lines arrive on stderr: kill the sweep's process without warning once two or three cells are done
        // (the plain progress lines are throttled, so the line for exactly two may be skipped).
        Assert.NotNull(TelosProcess.KillWhen(
            killedRoot, line => line.StartsWith("sweep 2/4", StringComparison.Ordinal) || line.StartsWith("sweep 3/4", StringComparison.Ordinal), "run", config, "--jobs", "2"));

        var record = Assert.Single(new RunStore(killedRoot).List());
        Assert.Equal("running (process gone)", record.StatusText);
        var plan = new ExperimentRunner(new RunStore(killedRoot), ExperimentCatalog.Discover())
            .Prepare(ConfigFile.Load(Path.Combine(record.Directory, "config.toml")), record.Name).Sweep!;
        // The cells still running see their sweep's pipe close and stop by themselves; wait for every cell process to end.
        Assert.True(TelosProcess.WaitUntilNoneMentions(record.Directory, TimeSpan.FromSeconds(60)));
        var states = plan.Cells.Select(c => SweepRunner.State(record.Directory, c)).ToList();
        Assert.DoesNotContain(CellState.Running, states);
        Assert.InRange(states.Count(s => s == CellState.Done), 2, 3);
        Assert.False(File.Exists(Path.Combine(record.Directory, "tables.md")));

        Assert.Equal(0, TelosProcess.InProcess(killedRoot, "resume", record.ShortId, "--jobs", "2"));
        Assert.Equal(0, TelosProcess.InProcess(Path.Combine(_folder, "straight"), "run", config));
        var straight = Assert.Single(new RunStore(Path.Combine(_folder, "straight")).List());
        foreach (var file in new[] { "tables.md", "tables.csv" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(straight.Directory, file)), File.ReadAllBytes(Path.Combine(record.Directory, file)));
        }
        Assert.Equal(RunStatus.Completed, new RunStore(killedRoot).Find(record.Id).Status);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
