using System.Net;
using Telos.Lab.Configuration;

namespace Telos.Cluster;

/// <summary>How silos find each other and how clients find the silos.</summary>
public enum Membership
{
    /// <summary>One machine: the primary silo (on <see cref="ClusterConfig.PrimaryPort"/>) holds the membership table; loopback only.</summary>
    Localhost,

    /// <summary>Many machines: the membership table is in PostgreSQL (Orleans' ADO.NET clustering).</summary>
    Postgres,
}

/// <summary>
/// A cluster config file (TOML), shared by every silo and by the machine that submits sweeps:
/// <code>
/// cluster_id = "telos"                    # silos and clients of one cluster name the same id
/// address = "127.0.0.1"                   # the interface a silo binds and advertises (loopback by default)
/// membership = "localhost"                # or "postgres"
/// primary_port = 11111                    # localhost: the primary silo's port
/// gateway_ports = [30000, 30001, 30002]   # localhost: the silos' gateway ports, where clients connect
/// postgres = "Host=db;Database=telos;Username=telos;Password=..."   # postgres: the membership database
/// certificate = "cluster.pfx"             # TLS: silos and clients present this certificate and accept only it
/// slots = 1                               # cells a silo runs at once
/// </code>
/// </summary>
/// <param name="SourcePath">The config file, as given.</param>
/// <param name="ClusterId">The Orleans cluster id (also its service id).</param>
/// <param name="Address">The interface a silo binds to and advertises.</param>
/// <param name="Membership">The membership provider.</param>
/// <param name="PrimaryPort">Localhost membership: the primary silo's silo port.</param>
/// <param name="GatewayPorts">Localhost membership: gateway ports a client tries.</param>
/// <param name="PostgresConnectionString">Postgres membership: the connection string; null otherwise.</param>
/// <param name="CertificatePath">The cluster's certificate (PKCS#12 with its private key), absolute; null: no TLS (loopback only).</param>
/// <param name="Slots">How many cells a silo runs at once.</param>
public sealed record ClusterConfig(
    string SourcePath, string ClusterId, IPAddress Address, Membership Membership, int PrimaryPort, IReadOnlyList<int> GatewayPorts,
    string? PostgresConnectionString, string? CertificatePath, int Slots)
{
    /// <summary>Reads and validates a cluster config; relative paths in it are relative to the file.</summary>
    /// <exception cref="TelosInputException">One line naming the file, line and key (or the file, when it cannot be read).</exception>
    public static ClusterConfig Load(string path)
    {
        var table = ConfigFile.Load(path);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var clusterId = table.GetString("cluster_id", "telos");
        if (clusterId.Length is 0 or > 64 || !clusterId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw table.Error("cluster_id", "use 1-64 letters, digits, '-', '_' or '.'");
        }
        var addressText = table.GetString("address", "127.0.0.1");
        if (!IPAddress.TryParse(addressText, out var address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            throw table.Error("address", $"expected the IP address of one interface (e.g. 127.0.0.1 or 10.0.0.5), got '{addressText}'");
        }
        var membership = table.GetString("membership", "localhost", ["localhost", "postgres"]) == "postgres" ? Membership.Postgres : Membership.Localhost;
        var primary = table.GetInt("primary_port", 11111, 1, 65535);
        var gateways = table.GetIntList("gateway_ports", [30000], 1, 65535, minCount: 1, maxCount: 1000);
        string? postgres = null;
        if (membership == Membership.Postgres)
        {
            postgres = table.Contains("postgres") ? table.RequireString("postgres") : throw table.Error("membership", "membership = \"postgres\" needs postgres = \"<connection string>\"");
        }
        else if (!IPAddress.IsLoopback(address))
        {
            throw table.Error("address", $"membership = \"localhost\" keeps the cluster on one machine's loopback; for {address} use membership = \"postgres\"");
        }
        string? certificate = null;
        if (table.Contains("certificate"))
        {
            certificate = Path.GetFullPath(Path.Combine(folder, table.RequireString("certificate")));
            if (!File.Exists(certificate))
            {
                throw table.Error("certificate", $"no such file {certificate} (make one with `telos silo cert FILE`)");
            }
        }
        else if (!IPAddress.IsLoopback(address))
        {
            throw table.Error("address", $"a cluster on {address} must authenticate its members: set certificate = \"<file from `telos silo cert`>\"");
        }
        var slots = table.GetInt("slots", 1, 1, 256);
        table.EnsureAllKeysUsed();
        var config = new ClusterConfig(path, clusterId, address, membership, primary, gateways, postgres, certificate, slots);
        if (certificate is not null)
        {
            try
            {
                using var _ = ClusterCertificate.Load(certificate);
            }
            catch (TelosInputException e)
            {
                throw table.Error("certificate", e.Message);
            }
        }
        return config;
    }
}
