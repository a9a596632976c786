using System.Globalization;
using BendCare.Cache.Diagnostics;

namespace BendCare.Cache.Connection;

/// <summary>
/// Where a connection's credentials come from: the options' static <see cref="BendCareCacheOptions.Username"/> and
/// <see cref="BendCareCacheOptions.Password"/>, or a provider asked each time, bounded by
/// <see cref="BendCareCacheOptions.CredentialsTimeout"/> and cancelled past it. Never throws: a failed call comes back
/// as a description for the log.
/// </summary>
internal sealed class CredentialSource
{
    private const int MaxMessageLength = 200;

    private readonly Func<CancellationToken, ValueTask<RedisCredentials>>? _provider;
    private readonly RedisCredentials _static;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;

    public CredentialSource(BendCareCacheOptions options, Func<CancellationToken, ValueTask<RedisCredentials>>? provider, TimeProvider time)
    {
        _provider = provider;
        _static = new RedisCredentials(options.Username, options.Password);
        _timeout = options.CredentialsTimeout;
        _time = time;
    }

    /// <summary>Whether the credentials come from a provider (and so can change).</summary>
    public bool IsRotating => _provider is not null;

    /// <summary>The credentials to connect with now, or why there are none.</summary>
    /// <param name="stopping">Cancelled when the connection is disposed: then this throws <see cref="OperationCanceledException"/>.</param>
    public ValueTask<(RedisCredentials? Credentials, string? Failure)> GetAsync(CancellationToken stopping) =>
        _provider is null ? new((_static, null)) : AskAsync(_provider, stopping);

    private async ValueTask<(RedisCredentials? Credentials, string? Failure)> AskAsync(Func<CancellationToken, ValueTask<RedisCredentials>> provider, CancellationToken stopping)
    {
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
        Task<RedisCredentials>? call = null;
        try
        {
            call = provider(linked.Token).AsTask();

            // A provider that ignores its token is not waited for either.
            var credentials = await call.WaitAsync(linked.Token).ConfigureAwait(false);
            return credentials is null ? (null, "the credentials provider returned null") : (credentials, null);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return (null, string.Create(CultureInfo.InvariantCulture, $"the credentials provider did not answer within {_timeout.TotalSeconds:0.###} s (CredentialsTimeout); it was cancelled"));
        }
        catch (Exception ex)
        {
            return (null, $"the credentials provider threw {ex.GetType().Name}: {Redact.FirstLine(ex.Message, _static.Password, MaxMessageLength)}");
        }
        finally
        {
            if (call is { IsCompleted: false })
            {
                // Abandoned: its eventual fault must not surface as an unobserved exception.
                _ = call.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }
}
