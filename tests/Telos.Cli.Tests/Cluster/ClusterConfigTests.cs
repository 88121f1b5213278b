using Spectre.Console.Testing;
using Telos.Cluster;
using Telos.Lab.Runs;

namespace Telos.Cli.Tests.Cluster;

public sealed class ClusterConfigTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-cluster-config-tests", Guid.NewGuid().ToString("N"));

    public ClusterConfigTests() => Directory.CreateDirectory(_folder);

    [Fact]
    public void TheDefaultsAreOneMachineOnLoopback()
    {
        var config = ClusterConfig.Load(Write("cluster.toml", ""));
        Assert.Equal("127.0.0.1", config.Address.ToString());
        Assert.Equal(Membership.Localhost, config.Membership);
        Assert.Equal(11111, config.PrimaryPort);
        Assert.Equal([30000], config.GatewayPorts);
        Assert.Null(config.CertificatePath);
        Assert.Equal(1, config.Slots);
    }

    [Theory]
    [InlineData("slots = 0", 1, "key 'slots': expected integer in [1, 256], got 0")]
    [InlineData("primary_port = 11111\nslot = 2", 2, "key 'slot': unknown key")]
    [InlineData("address = \"10.1.2.3\"\ncertificate = \"x.pfx\"", 1, "key 'address': membership = \"localhost\" keeps the cluster on one machine's loopback; for 10.1.2.3 use membership = \"postgres\"")]
    [InlineData("membership = \"postgres\"\npostgres = \"Host=db\"\naddress = \"10.1.2.3\"", 3, "key 'address': a cluster on 10.1.2.3 must authenticate its members")]
    [InlineData("membership = \"postgres\"", 1, "key 'membership': membership = \"postgres\" needs postgres = \"<connection string>\"")]
    [InlineData("address = \"0.0.0.0\"", 1, "key 'address': expected the IP address of one interface")]
    [InlineData("certificate = \"missing.pfx\"", 1, "key 'certificate': no such file")]
    [InlineData("membership = \"etcd\"", 1, "key 'membership': expected one of")]
    public void ABadConfigIsOneLineNamingTheFileLineAndKey(string toml, int line, string message)
    {
        var path = Write("bad.toml", toml);
        var error = Assert.Throws<TelosInputException>(() => ClusterConfig.Load(path));
        Assert.StartsWith($"{path}:{line}: {message}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void ACertificateThatIsNotOneIsRefusedNamingTheKey()
    {
        Write("junk.pfx", "not a certificate");
        var path = Write("cluster.toml", "certificate = \"junk.pfx\"");
        var error = Assert.Throws<TelosInputException>(() => ClusterConfig.Load(path));
        Assert.StartsWith($"{path}:1: key 'certificate': {Path.Combine(_folder, "junk.pfx")}: not a usable PKCS#12 certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunWithABadClusterConfigExitsTwoWithOneLineAndCreatesNoRun()
    {
        var sweep = Write("sweep.toml", """
            experiment = "mlp-regression"
            steps = 20
            [sweep]
            seeds = [1, 2]
            """);
        var cluster = Write("cluster.toml", "gateway_ports = [70000]");
        var runs = Path.Combine(_folder, "runs");
        var error = new StringWriter();
        var exit = TelosApp.Run(["run", sweep, "--cluster", cluster], new CliContext(new TestConsole(), error, runs));
        Assert.Equal(2, exit);
        Assert.Equal($"error: {cluster}:1: key 'gateway_ports[0]': expected integer in [1, 65535], got 70000", error.ToString().TrimEnd());
        Assert.Empty(new RunStore(runs).List());
    }

    [Fact]
    public void ARunThatIsNotASweepIsRefusedOnACluster()
    {
        var single = Write("single.toml", "experiment = \"mlp-regression\"\nsteps = 20\n");
        var cluster = Write("cluster.toml", "");
        var error = new StringWriter();
        var exit = TelosApp.Run(["run", single, "--cluster", cluster], new CliContext(new TestConsole(), error, Path.Combine(_folder, "runs")));
        Assert.Equal(2, exit);
        Assert.Equal($"error: --cluster {cluster}: the config has no [sweep] table; a cluster runs a sweep's cells", error.ToString().TrimEnd());
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
