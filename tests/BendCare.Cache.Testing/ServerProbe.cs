using System.Net.Sockets;
using System.Text;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>Cheap raw-socket readiness checks, independent of StackExchange.Redis.</summary>
internal static class ServerProbe
{
    private static readonly byte[] PingCommand = Encoding.ASCII.GetBytes("PING\r\n");

    /// <summary>
    /// True when something on host:port accepts a TCP connection and (unless <paramref name="connectOnly"/>)
    /// answers PING with any RESP simple string or error (an error such as NOAUTH still proves the server is up).
    /// </summary>
    public static async Task<bool> AnswersAsync(string host, int port, bool connectOnly, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync(host, port, cts.Token);
            if (connectOnly)
            {
                return true;
            }

            var stream = client.GetStream();
            await stream.WriteAsync(PingCommand, cts.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, cts.Token);
            return read > 0 && (buffer[0] == (byte)'+' || buffer[0] == (byte)'-');
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return false;
        }
    }

    /// <summary>Polls <see cref="AnswersAsync"/> until it succeeds, <paramref name="stillAlive"/> turns false, or the timeout passes.</summary>
    public static async Task<bool> WaitUntilAnswersAsync(
        string host,
        int port,
        bool connectOnly,
        TimeSpan timeout,
        Func<bool> stillAlive,
        CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (!stillAlive())
            {
                return false;
            }

            if (await AnswersAsync(host, port, connectOnly, TimeSpan.FromMilliseconds(500), cancellationToken))
            {
                return true;
            }

            await Task.Delay(50, cancellationToken);
        }

        return false;
    }
}
