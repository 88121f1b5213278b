using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;
using Telos.IO;

namespace Telos.Cluster;

/// <summary>
/// The cluster's one certificate: every silo and client presents it and accepts a peer only if the peer presents
/// the same one (its SHA-256 thumbprint), so holding the file (its private key) is what admits a machine to the cluster.
/// </summary>
public static class ClusterCertificate
{
    /// <summary>Writes a new self-signed certificate with its private key as PKCS#12 (no password; file mode 0600 on Unix).</summary>
    /// <exception cref="TelosInputException">The file exists or cannot be written.</exception>
    public static void Create(string path)
    {
        if (File.Exists(path))
        {
            throw new TelosInputException($"{path}: exists; a cluster keeps its certificate (delete it first to make a new one)");
        }
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=telos-cluster", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], critical: false));   // server and client authentication
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
        var bytes = certificate.Export(X509ContentType.Pkcs12);
        try
        {
            AtomicFile.WriteAllBytes(path, bytes);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TelosInputException($"{path}: cannot write the certificate: {e.Message}", e);
        }
    }

    /// <summary>Reads a certificate written by <see cref="Create"/> (or any PKCS#12 file without password that holds its private key).</summary>
    /// <exception cref="TelosInputException">Unreadable, not PKCS#12, or without a private key.</exception>
    public static X509Certificate2 Load(string path)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password: null, X509KeyStorageFlags.Exportable);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new TelosInputException($"{path}: not a usable PKCS#12 certificate: {e.Message.ReplaceLineEndings(" ")}", e);
        }
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new TelosInputException($"{path}: the certificate has no private key");
        }
        return certificate;
    }

    /// <summary>Mutual TLS that admits only peers presenting <paramref name="certificate"/>.</summary>
    internal static void Configure(TlsOptions options, X509Certificate2 certificate)
    {
        var thumbprint = certificate.GetCertHash(HashAlgorithmName.SHA256);
        options.LocalCertificate = certificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (remote, _, _) =>
            remote is not null && CryptographicOperations.FixedTimeEquals(remote.GetCertHash(HashAlgorithmName.SHA256), thumbprint);
        options.OnAuthenticateAsClient = (_, client) => client.TargetHost = "telos-cluster";
    }
}
