using System.CommandLine;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Telos.Cluster;

namespace Telos.Cli.Commands;

/// <summary><c>telos silo</c> (a silo of a cluster that runs sweep cells) and <c>telos silo cert</c>.</summary>
public sealed class ClusterCommands : ICommandGroup
{
    public int Order => 11;

    public IEnumerable<Command> Create(CliContext context)
    {
        var clusterOption = ClusterOption();
        clusterOption.Required = true;
        var portOption = new Option<int>("--port") { Description = "Silo-to-silo port on the cluster's address", DefaultValueFactory = _ => 11111 };
        var gatewayOption = new Option<int>("--gateway-port") { Description = "Port where clients (telos run --cluster) connect", DefaultValueFactory = _ => 30000 };
        var workOption = new Option<string?>("--work") { Description = "Folder where this silo's cells run (default: a folder per port under the temp folder)" };
        var silo = new Command("silo", "Run a silo of a cluster: it runs the sweep cells that `telos run --cluster` sends (until Ctrl+C or SIGTERM)")
        {
            clusterOption, portOption, gatewayOption, workOption,
        };
        silo.SetAction(result =>
        {
            var config = ClusterConfig.Load(result.GetValue(clusterOption)!);
            var ports = new SiloPorts(Port(result.GetValue(portOption), "--port"), Port(result.GetValue(gatewayOption), "--gateway-port"));
            var work = result.GetValue(workOption) ?? Path.Combine(Path.GetTempPath(), $"telos-silo-{ports.SiloPort}");
            return Silo(context, config, ports, work);
        });

        var fileArgument = new Argument<string>("file") { Description = "Where to write the certificate (PKCS#12 with its private key; keep it secret)" };
        var cert = new Command("cert", "Make a new self-signed certificate for a cluster: every silo and client presents it and accepts only it") { fileArgument };
        cert.SetAction(result =>
        {
            var file = result.GetValue(fileArgument)!;
            ClusterCertificate.Create(file);
            context.WriteLine($"wrote {file}; name it in the cluster config as certificate = \"{Path.GetFileName(file)}\" and copy it to every machine of the cluster");
            return ExitCodes.Success;
        });
        silo.Subcommands.Add(cert);

        var schemaCluster = ClusterOption();
        schemaCluster.Required = true;
        var schema = new Command("schema", "Create the membership tables in the PostgreSQL database of a cluster config with membership = \"postgres\" (safe to run again)") { schemaCluster };
        schema.SetAction(result =>
        {
            var config = ClusterConfig.Load(result.GetValue(schemaCluster)!);
            PostgresMembership.CreateSchema(config);
            context.WriteLine($"membership schema ready in the database of {config.SourcePath}");
            return ExitCodes.Success;
        });
        silo.Subcommands.Add(schema);
        yield return silo;
    }

    /// <summary><c>--cluster CONFIG</c>, shared by <c>telos silo</c>, <c>telos run</c> and <c>telos resume</c>.</summary>
    internal static Option<string?> ClusterOption() => new("--cluster") { Description = "Cluster config (TOML, docs/cluster.md): run the sweep's cells on that Orleans cluster" };

    private static int Port(int port, string option) =>
        port is >= 1 and <= 65535 ? port : throw new TelosInputException($"{option}: expected a port in [1, 65535], got {port}");

    private static int Silo(CliContext context, ClusterConfig config, SiloPorts ports, string work)
    {
        using var host = ClusterHosts.Silo(config, ports, RunCommands.SelfLauncher(config.Slots), work, context.Error);
        try
        {
            host.StartAsync().GetAwaiter().GetResult();
        }
        catch (Exception e) when (Unwrap(e) is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse or SocketError.AddressNotAvailable } socket)
        {
            throw new TelosInputException($"{config.SourcePath}: cannot listen on {config.Address} ports {ports.SiloPort}/{ports.GatewayPort}: {socket.Message}", e);
        }
        context.WriteLine($"silo {SiloIdentity(host)} up: cluster {config.ClusterId}, {config.Membership.ToString().ToLowerInvariant()} membership, "
            + $"listening on {config.Address} ports {ports.SiloPort} (silos) and {ports.GatewayPort} (clients), "
            + $"{(config.CertificatePath is null ? "no TLS" : "TLS")}, {config.Slots} slot(s), cells in {Path.GetFullPath(work)}");
        using var stop = new ManualResetEventSlim();
        void OnSignal(PosixSignalContext signal)
        {
            signal.Cancel = true;
            stop.Set();
        }
        using (PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal))
        using (PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal))
        {
            stop.Wait();
        }
        context.WriteLine("silo stopping");
        host.StopAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
        return ExitCodes.Success;
    }

    private static string SiloIdentity(IHost host) =>
        host.Services.GetService(typeof(Orleans.Runtime.ILocalSiloDetails)) is Orleans.Runtime.ILocalSiloDetails details ? details.SiloAddress.ToParsableString() : "";

    private static Exception Unwrap(Exception e) => e switch
    {
        AggregateException { InnerExceptions: [var inner] } => Unwrap(inner),
        { InnerException: { } inner } when e is not SocketException => Unwrap(inner),
        _ => e,
    };
}
