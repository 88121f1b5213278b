using System.Globalization;
using Spectre.Console.Testing;
using Telos.Cli.Tests.Commands;
using Telos.Lab.Runs;

namespace Telos.Cli.Tests.Cluster;

/// <summary>Sweeps on a cluster of real <c>telos silo</c> processes on loopback, compared with the same sweep run on this machine alone.</summary>
public sealed class ClusterSweepTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-cluster-tests", Guid.NewGuid().ToString("N"));

    public ClusterSweepTests() => Directory.CreateDirectory(_folder);

    /// <summary>experiments/sweep-smoke.toml (PPO, lstm and cnn) at its smallest: 512 steps, 10 evaluation levels, two seeds: 4 cells.</summary>
    private static string[] SmokeSweep() =>
    [
        Path.Combine(PackedTool.RepoRoot(), "experiments", "sweep-smoke.toml"),
        "--set", "total_timesteps=512", "--set", "eval_episodes=10", "--set", "sweep.seeds=[1, 2]",
    ];

    [Fact]
    public async Task ASiloKilledMidSweepLosesOnlyItsCellAndTheTablesAreThoseOfASingleMachineRun()
    {
        using var silos = new SiloProcesses(Path.Combine(_folder, "cluster"), 3);
        // Every socket the silos listen on is on loopback: the config names no other interface.
        var listening = ListeningEndpoints(silos.SiloPorts.Concat(silos.GatewayPorts).ToHashSet());
        Assert.Equal(6, listening.Count);
        Assert.All(listening, e => Assert.Equal("127.0.0.1", e.Address));

        var clusterRoot = Path.Combine(_folder, "on-cluster");
        var errors = new StringWriter();
        var sweep = Task.Run(() => TelosApp.Run(
            ["run", .. SmokeSweep(), "--cluster", silos.ConfigPath, "--quiet"], new CliContext(new TestConsole(), TextWriter.Synchronized(errors), clusterRoot)));

        // Kill the third silo (not the primary, which holds the membership table) once a cell runs on it.
        var victim = WaitForRunningCell(silos.WorkFolder(2), sweep, TimeSpan.FromSeconds(180));
        silos.Kill(2);
        var exit = await sweep.WaitAsync(TimeSpan.FromSeconds(300));
        Assert.True(exit == 0, errors.ToString());
        Assert.Contains($"warning: cell {victim}: lost with silo {silos.Addresses[2]}; sending it to another silo", errors.ToString(), StringComparison.Ordinal);

        var localRoot = Path.Combine(_folder, "local");
        Assert.Equal(0, TelosProcess.InProcess(localRoot, ["run", .. SmokeSweep(), "--jobs", "2"]));
        var onCluster = Assert.Single(new RunStore(clusterRoot).List());
        var local = Assert.Single(new RunStore(localRoot).List());
        Assert.Equal(RunStatus.Completed, onCluster.Status);
        foreach (var file in new[] { "tables.md", "tables.csv" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(local.Directory, file)), File.ReadAllBytes(Path.Combine(onCluster.Directory, file)));
        }

        // Every cell is recorded exactly once: one directory each, completed, holding one run (one creation in its log),
        // the files a local cell has, the same results; the sweep logged one completion per cell.
        var cells = Directory.GetDirectories(Path.Combine(onCluster.Directory, "cells")).Select(d => Path.GetFileName(d)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["000", "001", "002", "003"], cells);
        var sweepLog = File.ReadAllLines(Path.Combine(onCluster.Directory, "log.txt"));
        foreach (var cell in cells)
        {
            var dir = Path.Combine(onCluster.Directory, "cells", cell);
            var localDir = Path.Combine(local.Directory, "cells", cell);
            Assert.Equal(RunStatus.Completed, RunRecordFile.Read(dir)!.Status);
            Assert.Single(File.ReadAllLines(Path.Combine(dir, "log.txt")), l => l.Contains(" created run ", StringComparison.Ordinal));
            Assert.Single(sweepLog, l => l.Contains($" cell {cell} (", StringComparison.Ordinal) && l.Contains(") completed in ", StringComparison.Ordinal));
            Assert.Equal(FileNames(localDir), FileNames(dir));
            Assert.Equal(File.ReadAllBytes(Path.Combine(localDir, RunResults.FileName)), File.ReadAllBytes(Path.Combine(dir, RunResults.FileName)));
        }
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

    /// <summary>The cell directory name of the first cell whose run starts in <paramref name="workFolder"/>.</summary>
    internal static string WaitForRunningCell(string workFolder, Task sweep, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < timeout && !sweep.IsCompleted)
        {
            var record = Directory.Exists(workFolder) ? Directory.EnumerateFiles(workFolder, RunRecordFile.FileName, SearchOption.AllDirectories).FirstOrDefault() : null;
            if (record is not null)
            {
                return Path.GetFileName(Path.GetDirectoryName(record))!;
            }
            Thread.Sleep(100);
        }
        throw new TimeoutException($"no cell started in {workFolder} (sweep ended: {sweep.IsCompleted})");
    }

    /// <summary>A cell's files, relative; TensorBoard's event file is named after its host, time and pid, so only its folder counts.</summary>
    private static string[] FileNames(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f))
            .Select(f => f.StartsWith("tb/events.out.tfevents.", StringComparison.Ordinal) ? "tb/events.out.tfevents.*" : f)
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>The local endpoints of listening TCP sockets on <paramref name="ports"/>, from /proc/net/tcp and tcp6.</summary>
    private static List<(string Address, int Port)> ListeningEndpoints(HashSet<int> ports)
    {
        var found = new List<(string, int)>();
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields[3] != "0A")
                {
                    continue;   // not LISTEN
                }
                var (hexAddress, hexPort) = (fields[1][..fields[1].IndexOf(':', StringComparison.Ordinal)], fields[1][(fields[1].IndexOf(':', StringComparison.Ordinal) + 1)..]);
                var port = int.Parse(hexPort, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (ports.Contains(port))
                {
                    var bytes = Convert.FromHexString(hexAddress);
                    // /proc writes each 32-bit word of the address in host (little-endian) order.
                    for (var i = 0; i < bytes.Length; i += 4)
                    {
                        Array.Reverse(bytes, i, 4);
                    }
                    found.Add((new System.Net.IPAddress(bytes).ToString(), port));
                }
            }
        }
        return found;
    }
}
