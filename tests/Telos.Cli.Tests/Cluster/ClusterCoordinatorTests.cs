using Telos.Cli.Commands;
using Telos.Cli.Tests.Commands;
using Telos.Cluster;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;

namespace Telos.Cli.Tests.Cluster;

/// <summary>Two <c>telos silo</c> processes shared by the tests of this class.</summary>
public sealed class TwoSilos : IDisposable
{
    public TwoSilos() => Silos = new SiloProcesses(Path.Combine(Path.GetTempPath(), "telos-cluster-two", Guid.NewGuid().ToString("N")), 2);

    internal SiloProcesses Silos { get; }

    public void Dispose()
    {
        Silos.Dispose();
        try
        {
            Directory.Delete(Silos.Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>What the submitting side does when it dies, when a cell fails, when a cell is sent twice.</summary>
public sealed class ClusterCoordinatorTests(TwoSilos cluster) : IClassFixture<TwoSilos>, IDisposable
{
    /// <summary>The sweep <see cref="SweepKillTests"/> kills: 2 learning rates x 2 seeds of mlp-regression.</summary>
    private const string Sweep = SweepKillTests.Config;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-cluster-coordinator-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public void ACoordinatorKilledMidSweepResumesOnTheClusterFromWhatIsRecorded()
    {
        var config = Write("sweep.toml", Sweep);
        var killedRoot = Path.Combine(_folder, "killed");
        Assert.NotNull(TelosProcess.KillWhen(
            killedRoot, line => line.StartsWith("sweep 1/4", StringComparison.Ordinal) || line.StartsWith("sweep 2/4", StringComparison.Ordinal),
            "run", config, "--cluster", cluster.Silos.ConfigPath));
        var record = Assert.Single(new RunStore(killedRoot).List());
        var plan = new ExperimentRunner(new RunStore(killedRoot), ExperimentCatalog.Discover())
            .Prepare(ConfigFile.Load(Path.Combine(record.Directory, "config.toml")), record.Name).Sweep!;
        var done = plan.Cells.Where(c => SweepRunner.State(record.Directory, c) == CellState.Done).ToList();
        Assert.InRange(done.Count, 1, 3);
        Assert.False(File.Exists(Path.Combine(record.Directory, "tables.md")));
        var doneLogs = done.ToDictionary(c => c.DirectoryName, c => File.ReadAllBytes(Path.Combine(SweepRunner.CellDirectory(record.Directory, c), "log.txt")));

        Assert.Equal(0, TelosProcess.InProcess(killedRoot, "resume", record.ShortId, "--cluster", cluster.Silos.ConfigPath));
        Assert.Equal(0, TelosProcess.InProcess(Path.Combine(_folder, "straight"), "run", config));
        var straight = Assert.Single(new RunStore(Path.Combine(_folder, "straight")).List());
        foreach (var file in new[] { "tables.md", "tables.csv" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(straight.Directory, file)), File.ReadAllBytes(Path.Combine(record.Directory, file)));
        }
        // The cells recorded as done before the kill were kept, not run again.
        foreach (var (cell, log) in doneLogs)
        {
            Assert.Equal(log, File.ReadAllBytes(Path.Combine(record.Directory, SweepRunner.CellsFolder, cell, "log.txt")));
        }
        Assert.Equal(RunStatus.Completed, new RunStore(killedRoot).Find(record.Id).Status);
    }

    [Fact]
    public void ACellThatFailsOnASiloIsReportedOnceWithItsErrorAndNotSentAgain()
    {
        var cell = Path.Combine(_folder, "cells", "000");
        Directory.CreateDirectory(cell);
        File.WriteAllText(Path.Combine(cell, "config.toml"), "experiment = \"mlp-regression\"\nsteps = 0\n");
        var log = new List<string>();
        // Jobs another test of the class left behind (its coordinator was killed) stay until their lease runs out.
        var earlier = new[] { 0, 1 }.SelectMany(s => Directory.GetDirectories(cluster.Silos.WorkFolder(s))).ToHashSet(StringComparer.Ordinal);
        using var launcher = ClusterCellLauncher.Connect(ClusterConfig.Load(cluster.Silos.ConfigPath), TimeSpan.FromSeconds(30), log.Add);
        var exit = launcher.Run(cell, CancellationToken.None);
        Assert.Equal(2, exit.ExitCode);
        Assert.Contains("key 'steps': expected integer in [1, ", exit.Error, StringComparison.Ordinal);
        Assert.Empty(log);   // no silo was lost, so the cell was not sent again
        // The silo that ran it dropped its copy once the error was back.
        Assert.All(new[] { 0, 1 }, s => Assert.DoesNotContain(Directory.GetDirectories(cluster.Silos.WorkFolder(s)), d => !earlier.Contains(d)));
    }

    [Fact]
    public void ACellSentTwiceAtOnceLeavesOneRunInItsDirectory()
    {
        var plan = new ExperimentRunner(new RunStore(Path.Combine(_folder, "unused")), ExperimentCatalog.Discover())
            .Prepare(ConfigFile.Parse(Sweep, "sweep.toml"), "sweep").Sweep!;
        var cell = Path.Combine(_folder, "cells", "000");
        Directory.CreateDirectory(cell);
        File.WriteAllText(Path.Combine(cell, "config.toml"), plan.Cells[0].ResolvedToml);
        var reference = Path.Combine(_folder, "reference", "000");
        Directory.CreateDirectory(reference);
        File.WriteAllText(Path.Combine(reference, "config.toml"), plan.Cells[0].ResolvedToml);

        using var launcher = ClusterCellLauncher.Connect(ClusterConfig.Load(cluster.Silos.ConfigPath), TimeSpan.FromSeconds(30));
        var twice = Enumerable.Range(0, 2).Select(_ => Task.Run(() => launcher.Run(cell, CancellationToken.None))).ToArray();
        Assert.All(twice.Select(t => t.GetAwaiter().GetResult()), e => Assert.Equal(0, e.ExitCode));
        Assert.Equal(0, RunCommands.SelfLauncher(1).Run(reference, CancellationToken.None).ExitCode);

        Assert.Equal(RunStatus.Completed, RunRecordFile.Read(cell)!.Status);
        Assert.Single(File.ReadAllLines(Path.Combine(cell, "log.txt")), l => l.Contains(" created run ", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllBytes(Path.Combine(reference, RunResults.FileName)), File.ReadAllBytes(Path.Combine(cell, RunResults.FileName)));
        Assert.Single(Directory.GetFiles(Path.Combine(cell, "tb")));
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

    private string Write(string name, string text)
    {
        Directory.CreateDirectory(_folder);
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }
}
