using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Telos.Cli.Tests.Cluster;

/// <summary>
/// A cluster of <c>telos silo</c> processes (<c>dotnet Telos.Cli.dll</c> from the test's output folder) on loopback with
/// localhost membership, TLS with a certificate made by <c>telos silo cert</c>; silo 0 is the primary. Dispose kills them.
/// </summary>
internal sealed class SiloProcesses : IDisposable
{
    private readonly List<Process> _silos = [];

    /// <summary>Starts <paramref name="count"/> silos with <paramref name="slots"/> slots each and waits until each says it is up.</summary>
    public SiloProcesses(string folder, int count, int slots = 1)
    {
        Folder = folder;
        Directory.CreateDirectory(folder);
        Assert.Equal(0, TelosApp.Run(["silo", "cert", Path.Combine(folder, "cluster.pfx")], new CliContext(new Spectre.Console.Testing.TestConsole(), new StringWriter(), folder)));
        var ports = FreePorts(2 * count);
        SiloPorts = ports.Take(count).ToArray();
        GatewayPorts = ports.Skip(count).ToArray();
        ConfigPath = Path.Combine(folder, "cluster.toml");
        File.WriteAllText(ConfigPath, $"""
            cluster_id = "test-{Guid.NewGuid():N}"
            primary_port = {SiloPorts[0]}
            gateway_ports = [{string.Join(", ", GatewayPorts)}]
            certificate = "cluster.pfx"
            slots = {slots}
            """);
        Addresses = new string[count];
        // The primary holds the membership table: the others join it once it is up.
        Addresses[0] = Start(0);
        var rest = Enumerable.Range(1, count - 1).Select(i => Task.Run(() => Addresses[i] = Start(i))).ToArray();
        Task.WaitAll(rest);
    }

    public string Folder { get; }

    public string ConfigPath { get; }

    public IReadOnlyList<int> SiloPorts { get; }

    public IReadOnlyList<int> GatewayPorts { get; }

    /// <summary>Each silo's address as it printed it (what the launcher names a lost silo by).</summary>
    public string[] Addresses { get; }

    public int Pid(int silo) => _silos[silo].Id;

    /// <summary>The folder where silo <paramref name="silo"/> runs its cells.</summary>
    public string WorkFolder(int silo) => Path.Combine(Folder, $"work-{silo}");

    /// <summary>SIGKILLs silo <paramref name="silo"/> and waits for it to exit.</summary>
    public void Kill(int silo)
    {
        _silos[silo].Kill();
        _silos[silo].WaitForExit();
    }

    public void Dispose()
    {
        foreach (var silo in _silos)
        {
            try
            {
                if (!silo.HasExited)
                {
                    silo.Kill(entireProcessTree: true);
                    silo.WaitForExit();
                }
            }
            catch (InvalidOperationException)
            {
            }
            silo.Dispose();
        }
    }

    private string Start(int index)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Telos.Cli.dll"));
        foreach (var argument in new[]
        {
            "silo", "--cluster", ConfigPath, "--port", SiloPorts[index].ToString(CultureInfo.InvariantCulture),
            "--gateway-port", GatewayPorts[index].ToString(CultureInfo.InvariantCulture), "--work", WorkFolder(index),
        })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start)!;
        lock (_silos)
        {
            while (_silos.Count <= index)
            {
                _silos.Add(null!);
            }
            _silos[index] = process;
        }
        var log = Path.Combine(Folder, $"silo-{index}.err");
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (process)
                {
                    File.AppendAllText(log, e.Data + "\n");
                }
            }
        };
        process.BeginErrorReadLine();
        var up = Task.Run(() =>
        {
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null)
            {
                if (line.StartsWith("silo ", StringComparison.Ordinal) && line.Contains(" up: ", StringComparison.Ordinal))
                {
                    return line["silo ".Length..line.IndexOf(" up: ", StringComparison.Ordinal)];
                }
            }
            return null;
        });
        Assert.True(up.Wait(TimeSpan.FromSeconds(90)), $"silo {index} did not come up in 90 s");
        return up.Result ?? throw new InvalidOperationException($"silo {index} exited: {(File.Exists(log) ? File.ReadAllText(log) : "")}");
    }

    /// <summary>A loopback port that was free a moment ago.</summary>
    public static int FreePort() => FreePorts(1)[0];

    /// <summary>Two different loopback ports that were free a moment ago.</summary>
    public static (int, int) TwoFreePorts()
    {
        var ports = FreePorts(2);
        return (ports[0], ports[1]);
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        foreach (var listener in listeners)
        {
            listener.Start();
        }
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        foreach (var listener in listeners)
        {
            listener.Stop();
        }
        return ports;
    }
}
