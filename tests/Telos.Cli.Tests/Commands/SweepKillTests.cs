using System.Diagnostics;
using Spectre.Console.Testing;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;

namespace Telos.Cli.Tests.Commands;

/// <summary>SIGKILL a real <c>telos run</c> of a sweep after some cells finished, resume it, and compare its tables with an uninterrupted sweep's.</summary>
public sealed class SweepKillTests : IDisposable
{
    private const string Config = """
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

        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Telos.Cli.dll"));
        foreach (var argument in new[] { "run", config, "--jobs", "2" })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["TELOS_RUNS"] = killedRoot;
        using (var child = Process.Start(start)!)
        {
            child.BeginOutputReadLine();
            // Progress lines arrive on stderr: kill the sweep's process without warning once two cells are done.
            string? line;
            while ((line = child.StandardError.ReadLine()) is not null && !line.StartsWith("sweep 2/4", StringComparison.Ordinal))
            {
            }
            Assert.NotNull(line);
            child.Kill();
            child.WaitForExit();
        }

        var record = Assert.Single(new RunStore(killedRoot).List());
        Assert.Equal("running (process gone)", record.StatusText);
        var plan = new ExperimentRunner(new RunStore(killedRoot), ExperimentCatalog.Discover())
            .Prepare(ConfigFile.Load(Path.Combine(record.Directory, "config.toml")), record.Name).Sweep!;
        // The cells still running saw their sweep's pipe close and stop by themselves.
        var clock = Stopwatch.StartNew();
        while (plan.Cells.Any(c => SweepRunner.State(record.Directory, c) == CellState.Running) && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            Thread.Sleep(100);
        }
        var states = plan.Cells.Select(c => SweepRunner.State(record.Directory, c)).ToList();
        Assert.DoesNotContain(CellState.Running, states);
        Assert.InRange(states.Count(s => s == CellState.Done), 2, 3);
        Assert.False(File.Exists(Path.Combine(record.Directory, "tables.md")));

        Assert.Equal(0, Telos(killedRoot, "resume", record.ShortId, "--jobs", "2"));
        Assert.Equal(0, Telos(Path.Combine(_folder, "straight"), "run", config));
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

    private static int Telos(string runsRoot, params string[] args) =>
        TelosApp.Run([.. args, "--quiet"], new CliContext(new TestConsole(), new StringWriter(), runsRoot));
}
