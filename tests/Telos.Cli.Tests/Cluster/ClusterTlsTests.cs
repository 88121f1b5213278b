using Telos.Cli.Commands;
using Telos.Cluster;

namespace Telos.Cli.Tests.Cluster;

/// <summary>A silo (in this process) with the cluster's certificate admits a client that presents it and no other.</summary>
public sealed class ClusterTlsTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-cluster-tls-tests", Guid.NewGuid().ToString("N"));

    public ClusterTlsTests() => Directory.CreateDirectory(_folder);

    [Fact]
    public async Task OnlyAClientWithTheClustersCertificateGetsIn()
    {
        ClusterCertificate.Create(Path.Combine(_folder, "cluster.pfx"));
        ClusterCertificate.Create(Path.Combine(_folder, "other.pfx"));
        var (siloPort, gatewayPort) = SiloProcesses.TwoFreePorts();
        var id = $"tls-{Guid.NewGuid():N}";
        string Config(string name, string? certificate) => Write(name, $"""
            cluster_id = "{id}"
            primary_port = {siloPort}
            gateway_ports = [{gatewayPort}]
            slots = 2
            {(certificate is null ? "" : $"certificate = \"{certificate}\"")}
            """);
        var config = ClusterConfig.Load(Config("cluster.toml", "cluster.pfx"));
        using var silo = ClusterHosts.Silo(config, new SiloPorts(siloPort, gatewayPort), RunCommands.SelfLauncher(2), Path.Combine(_folder, "work"), null);
        await silo.StartAsync();
        try
        {
            using (var member = ClusterCellLauncher.Connect(config, TimeSpan.FromSeconds(30)))
            {
                Assert.Equal(2, member.MaxJobs);
            }
            foreach (var stranger in new[] { Config("other.toml", "other.pfx"), Config("plain.toml", null) })
            {
                var error = Assert.Throws<TelosInputException>(() => ClusterCellLauncher.Connect(ClusterConfig.Load(stranger), TimeSpan.FromSeconds(3)));
                Assert.StartsWith($"{stranger}: cannot reach cluster '{id}': ", error.Message, StringComparison.Ordinal);
            }
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

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

}
