using Npgsql;
using Spectre.Console.Testing;
using Telos.Cli.Commands;
using Telos.Cli.Tests.Commands;
using Telos.Cluster;
using Telos.Lab.Runs;

namespace Telos.Cli.Tests.Cluster;

/// <summary>A sweep on a silo whose cluster's membership is in PostgreSQL (a server this test starts and stops).</summary>
public sealed class PostgresMembershipTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-cluster-postgres-tests", Guid.NewGuid().ToString("N"));

    public PostgresMembershipTests() => Directory.CreateDirectory(_folder);

    [SkippableFact]
    public async Task ASiloAndAClientFindEachOtherThroughTheDatabaseAndRunASweep()
    {
        var bin = ThrowawayPostgres.FindBinaries();
        Skip.If(bin is null, "PostgreSQL's binaries are not installed (/usr/lib/postgresql/N/bin; Debian package postgresql, which .ci/run installs)");
        using var postgres = ThrowawayPostgres.Start(bin);
        var (siloPort, gatewayPort) = SiloProcesses.TwoFreePorts();
        var clusterPath = Path.Combine(_folder, "cluster.toml");
        // No gateway ports: the client reads the gateways from the membership table.
        File.WriteAllText(clusterPath, $"""
            cluster_id = "pg-{Guid.NewGuid():N}"
            membership = "postgres"
            postgres = "{postgres.ConnectionString}"
            """);
        var output = new TestConsole();
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(0, TelosApp.Run(["silo", "schema", "--cluster", clusterPath], new CliContext(output, new StringWriter(), _folder)));
        }
        var config = ClusterConfig.Load(clusterPath);
        using var silo = ClusterHosts.Silo(config, new SiloPorts(siloPort, gatewayPort), RunCommands.SelfLauncher(1), Path.Combine(_folder, "work"), null);
        await silo.StartAsync();
        try
        {
            await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
            {
                await connection.OpenAsync();
                await using var rows = new NpgsqlCommand("SELECT address, port, proxy_port, status FROM telos_membership", connection);
                await using var reader = await rows.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                Assert.Equal(("127.0.0.1", siloPort, gatewayPort, 3), (reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3)));   // 3: active
                Assert.False(await reader.ReadAsync());
            }

            var sweep = Path.Combine(_folder, "sweep.toml");
            File.WriteAllText(sweep, """
                experiment = "mlp-regression"
                steps = 40
                batch_size = 16
                hidden = [8]
                eval_points = 32
                log_every = 10
                [sweep]
                seeds = [1, 2]
                """);
            Assert.Equal(0, TelosProcess.InProcess(Path.Combine(_folder, "on-cluster"), "run", sweep, "--cluster", clusterPath));
            Assert.Equal(0, TelosProcess.InProcess(Path.Combine(_folder, "local"), "run", sweep));
            var onCluster = Assert.Single(new RunStore(Path.Combine(_folder, "on-cluster")).List());
            var local = Assert.Single(new RunStore(Path.Combine(_folder, "local")).List());
            Assert.Equal(File.ReadAllBytes(Path.Combine(local.Directory, "tables.csv")), File.ReadAllBytes(Path.Combine(onCluster.Directory, "tables.csv")));
        }
        finally
        {
            await silo.StopAsync();
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

}
