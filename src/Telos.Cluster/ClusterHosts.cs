using System.Data.Common;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Telos.Lab.Sweeps;

namespace Telos.Cluster;

/// <summary>Where a silo listens: its silo port (silo-to-silo) and gateway port (clients), on the cluster's address.</summary>
/// <param name="SiloPort">Silo-to-silo traffic.</param>
/// <param name="GatewayPort">Clients.</param>
public sealed record SiloPorts(int SiloPort, int GatewayPort);

/// <summary>Builds Orleans silo and client hosts from a <see cref="ClusterConfig"/>.</summary>
public static class ClusterHosts
{
    /// <summary>How long a silo keeps a cell whose client stopped asking about it.</summary>
    public static readonly TimeSpan CellLease = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A silo that runs cells with <paramref name="launcher"/> in <paramref name="workFolder"/>, bound to the config's
    /// address only (both ports), with TLS when the config names a certificate. Start it with <c>StartAsync</c>.
    /// </summary>
    /// <param name="config">The cluster.</param>
    /// <param name="ports">This silo's ports.</param>
    /// <param name="launcher">Runs one cell directory (a <c>telos cell</c> child process).</param>
    /// <param name="workFolder">Where the silo's cells run.</param>
    /// <param name="log">Orleans' warnings and errors go here (null: nowhere).</param>
    public static IHost Silo(ClusterConfig config, SiloPorts ports, ICellLauncher launcher, string workFolder, TextWriter? log)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(ports);
        var certificate = config.CertificatePath is null ? null : ClusterCertificate.Load(config.CertificatePath);
        var builder = new HostBuilder();
        Logging(builder, log);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = config.ClusterId;
                o.ServiceId = config.ClusterId;
            });
            if (config.Membership == Membership.Localhost)
            {
                silo.UseDevelopmentClustering(new IPEndPoint(config.Address, config.PrimaryPort));
            }
            else
            {
                RegisterNpgsql();
                silo.UseAdoNetClustering(o =>
                {
                    o.Invariant = PostgresInvariant;
                    o.ConnectionString = config.PostgresConnectionString;
                });
            }
            silo.ConfigureEndpoints(config.Address, ports.SiloPort, ports.GatewayPort, listenOnAnyHostAddress: false);
            if (certificate is not null)
            {
                silo.UseTls(certificate, o => ClusterCertificate.Configure(o, certificate));
            }
            silo.Services.AddPlacementDirector<OwnSiloPlacement, OwnSiloPlacementDirector>();
            silo.Services.AddSingleton(_ => new SiloCells(launcher, workFolder, config.Slots, CellLease));
        });
        return builder.Build();
    }

    /// <summary>A client of the cluster (gateways from the config, or from the membership table), with TLS when the config names a certificate.</summary>
    public static IHost Client(ClusterConfig config, TextWriter? log)
    {
        ArgumentNullException.ThrowIfNull(config);
        var certificate = config.CertificatePath is null ? null : ClusterCertificate.Load(config.CertificatePath);
        var builder = new HostBuilder();
        Logging(builder, log);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = config.ClusterId;
                o.ServiceId = config.ClusterId;
            });
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            if (config.Membership == Membership.Localhost)
            {
                client.UseStaticClustering(config.GatewayPorts.Select(p => new IPEndPoint(config.Address, p)).ToArray());
            }
            else
            {
                RegisterNpgsql();
                client.UseAdoNetClustering(o =>
                {
                    o.Invariant = PostgresInvariant;
                    o.ConnectionString = config.PostgresConnectionString;
                });
            }
            if (certificate is not null)
            {
                client.UseTls(certificate, o => ClusterCertificate.Configure(o, certificate));
            }
        });
        return builder.Build();
    }

    private const string PostgresInvariant = "Npgsql";

    private static void RegisterNpgsql() => DbProviderFactories.RegisterFactory(PostgresInvariant, Npgsql.NpgsqlFactory.Instance);

    private static void Logging(HostBuilder builder, TextWriter? log) =>
        builder.ConfigureLogging(logging =>
        {
            logging.ClearProviders();
            logging.SetMinimumLevel(LogLevel.Warning);
            // Start-up notes (server GC, a watchdog that measured the time before start) are not problems of the cluster.
            logging.AddFilter("Orleans.Runtime.Silo", LogLevel.Error);
            logging.AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
            if (log is not null)
            {
                logging.AddProvider(new TextWriterLoggerProvider(log));
            }
        });
}
