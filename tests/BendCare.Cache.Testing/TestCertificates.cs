using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>
/// A throw-away certificate authority and a server certificate for <c>localhost</c>/<c>127.0.0.1</c> signed by it,
/// generated in-process (no openssl, no files checked in) and written as PEM files to a temp dir of their own, for a
/// TLS <c>redis-server</c>: pass <see cref="ServerArguments"/> as <see cref="RedisServerOptions.ExtraArgs"/> with
/// <see cref="RedisServerOptions.Tls"/> set. Clients trust the CA with <see cref="CaCertificatePath"/> (e.g.
/// <c>ConfigurationOptions.TrustIssuer(path)</c>). Dispose deletes the directory.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string directory, X509Certificate2 ca)
    {
        Directory = directory;
        CaCertificate = ca;
    }

    /// <summary>The temp directory holding the PEM files.</summary>
    public string Directory { get; }

    /// <summary>The CA certificate (public part only).</summary>
    public X509Certificate2 CaCertificate { get; }

    /// <summary>PEM file of the CA certificate (what a client trusts, what <c>--tls-ca-cert-file</c> takes).</summary>
    public string CaCertificatePath => Path.Combine(Directory, "ca.crt");

    /// <summary>PEM file of the server certificate (<c>--tls-cert-file</c>).</summary>
    public string ServerCertificatePath => Path.Combine(Directory, "server.crt");

    /// <summary>PEM file of the server's PKCS#8 private key (<c>--tls-key-file</c>).</summary>
    public string ServerKeyPath => Path.Combine(Directory, "server.key");

    /// <summary>
    /// The <c>redis-server</c>/<c>valkey-server</c> TLS arguments: certificate, key, CA, and
    /// <c>--tls-auth-clients no</c> (clients need no certificate of their own, like ElastiCache).
    /// </summary>
    public IReadOnlyList<string> ServerArguments =>
    [
        "--tls-cert-file", ServerCertificatePath,
        "--tls-key-file", ServerKeyPath,
        "--tls-ca-cert-file", CaCertificatePath,
        "--tls-auth-clients", "no",
    ];

    /// <summary>Creates a new CA (named <paramref name="caName"/>) and a server certificate it signed, valid for a day.</summary>
    public static TestCertificates Create(string caName = "BendCare.Cache test CA")
    {
        var now = DateTimeOffset.UtcNow;
        var notBefore = now.AddHours(-1);
        var notAfter = now.AddDays(1);

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest(new X500DistinguishedName($"CN={caName}, O=BendCare tests"), caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        var caSki = new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false);
        caRequest.CertificateExtensions.Add(caSki);
        using var caWithKey = caRequest.CreateSelfSigned(notBefore, notAfter.AddHours(1));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest(new X500DistinguishedName("CN=localhost, O=BendCare tests"), serverKey, HashAlgorithmName.SHA256);
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, critical: true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(serverRequest.PublicKey, critical: false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(caSki));
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F; // positive
        using var server = serverRequest.Create(caWithKey, notBefore, notAfter, serial);

        var directory = System.IO.Directory.CreateTempSubdirectory("bendcare-tls-").FullName;
#if NET9_0_OR_GREATER
        var caCertificate = X509CertificateLoader.LoadCertificate(caWithKey.RawData);
#else
        var caCertificate = new X509Certificate2(caWithKey.RawData); // X509CertificateLoader arrived in .NET 9
#endif
        var certificates = new TestCertificates(directory, caCertificate);
        File.WriteAllText(certificates.CaCertificatePath, caWithKey.ExportCertificatePem() + "\n");
        File.WriteAllText(certificates.ServerCertificatePath, server.ExportCertificatePem() + "\n");
        File.WriteAllText(certificates.ServerKeyPath, serverKey.ExportPkcs8PrivateKeyPem() + "\n");
        return certificates;
    }

    /// <summary>Deletes the PEM files.</summary>
    public void Dispose()
    {
        CaCertificate.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A server still holding the files open; the OS cleans temp eventually.
        }
    }
}
