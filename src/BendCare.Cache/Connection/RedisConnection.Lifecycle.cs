using BendCare.Cache.Diagnostics;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>Connecting in the background, attaching and retiring multiplexers, and disposal that never waits on Redis.</summary>
internal sealed partial class RedisConnection
{
    private int _connecting;
    private long _lastReplacement;

    /// <summary>Raised when a multiplexer takes over the request path (the first one, or a replacement).</summary>
    internal event Action<IConnectionMultiplexer>? MultiplexerAttached;

    /// <summary>Starts a background connect unless one is running (its last steps may still be finishing); returns whether it started one.</summary>
    private bool StartConnect()
    {
        if (Interlocked.Exchange(ref _connecting, 1) == 1)
        {
            return false;
        }

        _ = Task.Run(ConnectAsync);
        return true;
    }

    private async Task ConnectAsync()
    {
        var delay = TimeSpan.FromMilliseconds(250);
        try
        {
            while (!_disposed.IsCancellationRequested)
            {
                try
                {
                    var config = RedisConfigurationFactory.Create(_options);
                    using var connectLog = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
                    var multiplexer = await _factory(config, connectLog).ConfigureAwait(false);
                    Interlocked.Increment(ref _multiplexersCreated);
                    Attach(multiplexer, connectLog.ToString());
                    return;
                }
                catch (Exception ex) when (!_disposed.IsCancellationRequested)
                {
                    // AbortOnConnectFail=false returns a multiplexer even when the server is down; getting here means
                    // something like an unparsable endpoint. Keep trying, quietly, with a capped back-off.
                    _failures.Record(FailureClassifier.Classify(ex), ex);
                    _breakers.Main.Trip();
                    EndFirstConnect();
                    await Task.Delay(delay, _time, _disposed.Token).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed while connecting.
        }
        finally
        {
            Volatile.Write(ref _connecting, 0);
        }
    }

    private void Attach(IConnectionMultiplexer multiplexer, string connectLog)
    {
        IConnectionMultiplexer? previous;
        lock (_attachGate)
        {
            // Under the lock disposal takes too: a connection built while disposing is never left behind.
            if (_disposed.IsCancellationRequested)
            {
                multiplexer.Dispose();
                return;
            }

            multiplexer.ConnectionFailed += OnConnectionFailed;
            multiplexer.ConnectionRestored += OnConnectionRestored;
            multiplexer.ConfigurationChanged += OnTopologyChanged;
            multiplexer.HashSlotMoved += OnHashSlotMoved;
            previous = _multiplexer;
            _multiplexer = multiplexer;
            _database = multiplexer.GetDatabase();
        }

        Volatile.Write(ref _lastReplacement, _time.GetTimestamp());
        MultiplexerAttached?.Invoke(multiplexer);

        if (multiplexer.IsConnected)
        {
            RebuildRouting(multiplexer);
            MarkConnected(multiplexer);
            AllowProbesNow();
        }
        else
        {
            // The failure events of the first attempt fire before we can subscribe; the client's connect log says why
            // (it is only classified, never kept: it names commands and keys).
            var reason = FailureClassifier.ClassifyConnectLog(connectLog, _options.UseTls);
            _failures.RecordDescription(reason, "the first connection attempt failed");
            _breakers.Main.Trip();
        }

        EndFirstConnect();
        if (previous is not null)
        {
            _ = RetireAsync(previous);
        }
    }

    private async Task RetireAsync(IConnectionMultiplexer old)
    {
        Detach(old);
        try
        {
            // Callers that picked the old database just before the swap finish (or time out) first; disposal ends the wait.
            await Task.Delay(_options.OperationTimeout + _options.OperationTimeout, _time, _disposed.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Disposing: close it now.
        }

        Close(old, "close replaced connection");
    }

    private void Detach(IConnectionMultiplexer multiplexer)
    {
        multiplexer.ConnectionFailed -= OnConnectionFailed;
        multiplexer.ConnectionRestored -= OnConnectionRestored;
        multiplexer.ConfigurationChanged -= OnTopologyChanged;
        multiplexer.HashSlotMoved -= OnHashSlotMoved;
    }

    /// <summary>
    /// Synchronous disposal for containers disposed with <c>Dispose()</c> (console apps, <c>using var provider</c>):
    /// never blocks on asynchronous work and never waits for a server. Commands in flight fail at once (their callers
    /// use the loader); sockets are closed in place.
    /// </summary>
    public void Dispose()
    {
        EndFirstConnect();
        if (BeginDispose() is { } multiplexer)
        {
            Close(multiplexer, "close connection");
        }
    }

    public ValueTask DisposeAsync()
    {
        // Closing without letting commands complete sends nothing and waits for nothing: there is no asynchronous work
        // worth awaiting, so both disposals do the same.
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Marks the connection disposed and takes its multiplexer away from the request path; null when already disposed.</summary>
    private IConnectionMultiplexer? BeginDispose()
    {
        IConnectionMultiplexer? multiplexer;
        lock (_attachGate)
        {
            if (_disposed.IsCancellationRequested)
            {
                return null;
            }

            _disposed.Cancel();
            multiplexer = _multiplexer;
            _database = null;
            _multiplexer = null;
        }

        _timer?.Dispose();
        if (multiplexer is not null)
        {
            Detach(multiplexer);
        }

        return multiplexer;
    }

    /// <summary>Closes without QUIT and without waiting for replies (no server can hold it up), then disposes.</summary>
    private void Close(IConnectionMultiplexer multiplexer, string operation)
    {
        try
        {
            multiplexer.Close(allowCommandsToComplete: false);
        }
        catch (Exception ex)
        {
            Log.BackgroundOperationFailed(_logger, operation, ex.GetType().Name);
        }

        try
        {
            multiplexer.Dispose();
        }
        catch (Exception ex)
        {
            Log.BackgroundOperationFailed(_logger, operation, ex.GetType().Name);
        }
    }
}
