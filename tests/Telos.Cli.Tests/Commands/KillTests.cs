using Telos.Lab.Runs;

namespace Telos.Cli.Tests.Commands;

/// <summary>SIGKILL a real <c>telos run</c> process while it checkpoints every few steps, then resume it.</summary>
[Collection("torch")]
public sealed class KillTests : IDisposable
{
    private const string Config = """
        experiment = "mlp-regression"
        seed = 2
        steps = 150
        batch_size = 16
        hidden = [8]
        eval_points = 32
        log_every = 5
        checkpoint_every = 3
        """;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-kill-tests", Guid.NewGuid().ToString("N"));

    public KillTests() => Directory.CreateDirectory(_folder);

    [Fact]
    public void AKilledRunKeepsItsIndexAndCheckpointsAndResumesToTheStraightResult()
    {
        var config = Path.Combine(_folder, "kill.toml");
        File.WriteAllText(config, Config);
        var killedRoot = Path.Combine(_folder, "killed");

        // Progress lines arrive on stderr; kill without warning once the run is under way.
        Assert.NotNull(TelosProcess.KillWhen(killedRoot, line => line.Contains("(20%)", StringComparison.Ordinal), "run", config));

        var store = new RunStore(killedRoot);
        var record = Assert.Single(store.List());
        Assert.Equal(RunStatus.Running, record.Status);
        Assert.False(record.ProcessAlive);
        Assert.Equal("running (process gone)", record.StatusText);
        using (var run = store.Open(record.Id))
        {
            var checkpoints = run.Checkpoints();
            Assert.NotEmpty(checkpoints);
            foreach (var checkpoint in checkpoints)
            {
                run.VerifyCheckpoint(checkpoint);
            }
        }

        Assert.Equal(0, TelosProcess.InProcess(killedRoot, "resume", record.ShortId));
        Assert.Equal(0, TelosProcess.InProcess(Path.Combine(_folder, "straight"), "run", config));
        var straight = Assert.Single(new RunStore(Path.Combine(_folder, "straight")).List());
        Assert.Equal(
            File.ReadAllText(Path.Combine(straight.Directory, "metrics.csv")),
            File.ReadAllText(Path.Combine(record.Directory, "metrics.csv")));
        Assert.Equal(RunStatus.Completed, store.Find(record.Id).Status);
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
