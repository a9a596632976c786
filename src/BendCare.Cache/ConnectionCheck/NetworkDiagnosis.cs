using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using BendCare.Cache.Connection;

namespace BendCare.Cache.ConnectionCheck;

/// <summary>
/// Finds out for itself why a connect failed when the client cannot say: DNS lookup, then a plain TCP connect, then
/// (TLS off, port open) a TLS ClientHello. Each stage waits at most the check's timeout.
/// </summary>
internal sealed class NetworkDiagnosis(string host, int port, bool useTls, TimeSpan timeout)
{
    public async Task<FailureReason> DiagnoseAsync(CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var address))
        {
            addresses = [address];
        }
        else
        {
            try
            {
                addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                return FailureReason.Dns;
            }
        }

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        connectTimeout.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(addresses, port, connectTimeout.Token).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            return ex.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => FailureReason.Refused,
                SocketError.TimedOut or SocketError.HostUnreachable or SocketError.NetworkUnreachable => FailureReason.Timeout,
                _ => FailureReason.Unknown,
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Nothing accepted the connection: a firewall or security group dropping packets, or a host that is down.
            return FailureReason.Timeout;
        }

        // The port accepts connections but the client got no usable answer. With TLS on, that is a handshake that never
        // completed (most often a plain server). With TLS off, it is most often a TLS-only server (ElastiCache
        // Serverless) that gives up on our plain bytes: find out by offering it a handshake.
        if (useTls)
        {
            return FailureReason.Tls;
        }

        return await SpeaksTlsAsync(socket, cancellationToken).ConfigureAwait(false) ? FailureReason.Tls : FailureReason.Timeout;
    }

    /// <summary>Whether the server answers a TLS ClientHello with a certificate. The certificate is rejected either way: nothing is sent over it.</summary>
    private async Task<bool> SpeaksTlsAsync(Socket socket, CancellationToken cancellationToken)
    {
        bool sawCertificate = false;
        using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        handshakeTimeout.CancelAfter(timeout);
        var stream = new NetworkStream(socket, ownsSocket: false);
        await using (stream.ConfigureAwait(false))
        {
            var tls = new SslStream(stream, leaveInnerStreamOpen: true);
            await using (tls.ConfigureAwait(false))
            {
                try
                {
                    await tls.AuthenticateAsClientAsync(
                        new SslClientAuthenticationOptions
                        {
                            TargetHost = host,
                            RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                            {
                                sawCertificate = certificate is not null;
                                return false;
                            },
                        },
                        handshakeTimeout.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    // Expected: the certificate is always rejected, and a plain server fails or ignores the handshake.
                }
            }
        }

        return sawCertificate;
    }
}
