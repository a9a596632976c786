using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;

namespace BendCare.Cache.Connection;

/// <summary>
/// Work run a few times a second while the multiplexer is connected (replaying remembered invalidations), one run at a
/// time: a tick that finds the previous run still going does not start another.
/// </summary>
internal sealed class BackgroundWork
{
    private readonly ILogger _logger;
    private readonly List<Func<CancellationToken, Task>> _items = [];
    private int _running;

    public BackgroundWork(ILogger logger) => _logger = logger;

    public bool IsRunning => Volatile.Read(ref _running) == 1;

    public void Register(Func<CancellationToken, Task> work)
    {
        lock (_items)
        {
            _items.Add(work);
        }
    }

    /// <summary>Starts a run unless one is going; returns whether it started one.</summary>
    public bool TryStart(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            return false;
        }

        _ = RunAsync(cancellationToken);
        return true;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            Func<CancellationToken, Task>[] work;
            lock (_items)
            {
                work = [.. _items];
            }

            foreach (var item in work)
            {
                await item(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.BackgroundOperationFailed(_logger, "background work", ex.GetType().Name);
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }
}
