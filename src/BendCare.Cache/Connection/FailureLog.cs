using BendCare.Cache.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace BendCare.Cache.Connection;

/// <summary>
/// Owns the connection's last failure: its reason, its one redacted text (the only form in which a client library's
/// error message is kept, logged or published), and the throttled log lines of the cache becoming unavailable or
/// available again and of configuration problems.
/// </summary>
internal sealed class FailureLog
{
    internal static readonly TimeSpan ConfigurationErrorLogInterval = TimeSpan.FromMinutes(5);
    internal static readonly TimeSpan UnavailableLogInterval = TimeSpan.FromMinutes(1);
    private const int MaxErrorLength = 300;

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _endpoint;
    private volatile string? _password;
    private volatile string? _lastError;
    private volatile int _lastReason;
    private long _lastConfigurationErrorLog;
    private long _lastCredentialsErrorLog;
    private long _lastUnavailableLog;
    private int _recoveryOwed;

    public FailureLog(ILogger logger, TimeProvider time, string endpoint, string? password)
    {
        _logger = logger;
        _time = time;
        _endpoint = endpoint;
        _password = string.IsNullOrEmpty(password) ? null : password;
    }

    public FailureReason LastReason => (FailureReason)_lastReason;

    /// <summary>The last failure, redacted: reason, exception type and the first line of its message.</summary>
    public string? LastError => _lastError;

    /// <summary>Whether a configuration problem (auth, TLS, permission) was logged within the last few minutes.</summary>
    public bool HasRecentConfigurationProblem
    {
        get
        {
            return IsRecent(Volatile.Read(ref _lastConfigurationErrorLog)) || IsRecent(Volatile.Read(ref _lastCredentialsErrorLog));
        }
    }

    /// <summary>A password handed out by a credentials provider: masked from now on wherever a client message repeats it.</summary>
    public void MaskAlso(string? password)
    {
        if (!string.IsNullOrEmpty(password))
        {
            _password = password;
        }
    }

    /// <summary><paramref name="message"/> as it may be shown: first line, shortened, ids and secrets redacted.</summary>
    public string Safe(string message, string? key = null) =>
        Redact.FirstLine(message, _password, MaxErrorLength, key);

    /// <summary>An operation failed. A configuration problem is logged whatever the breaker does (a permanent NOPERM on one command never opens it).</summary>
    public void Record(FailureReason reason, Exception exception, in RedisKey route = default)
    {
        Set(reason, $"{reason}: {exception.GetType().Name}: {Safe(exception.Message, (string?)route)}");
        if (FailureClassifier.IsConfigurationProblem(reason))
        {
            LogConfigurationProblemRarely(reason);
        }
    }

    /// <summary>The client reported a connection lost.</summary>
    public void RecordConnectionFailure(FailureReason reason, ConnectionFailureType failureType, Exception? exception) =>
        Set(reason, $"{reason}: {failureType}" + (exception is null ? "" : $": {Safe(exception.Message)}"));

    /// <summary>A failure described by the library itself (no client text in it).</summary>
    public void RecordDescription(FailureReason reason, string description) => Set(reason, $"{reason}: {description}");

    /// <summary>
    /// The credentials provider failed (<paramref name="description"/> says how, in the library's words and the
    /// provider's redacted message): one Error per few minutes, whether or not a connection still works.
    /// </summary>
    public void RecordCredentialsFailure(string description)
    {
        // Masked here too: a provider's own message may repeat the secret it handed out (a Secrets Manager JSON string).
        Set(FailureReason.Credentials, $"{FailureReason.Credentials}: {Safe(description)}");
        LogCredentialsProblemRarely();
    }

    /// <summary>A breaker went from closed to open: one Warning a minute at most, or the configuration Error.</summary>
    public void OnUnavailable()
    {
        var reason = LastReason;
        if (reason == FailureReason.Credentials)
        {
            // Its Error was logged when the provider failed; the breaker opening says nothing more.
            Volatile.Write(ref _recoveryOwed, 1);
            LogCredentialsProblemRarely();
            return;
        }

        if (FailureClassifier.IsConfigurationProblem(reason))
        {
            Volatile.Write(ref _recoveryOwed, 1);
            LogConfigurationProblemRarely(reason);
            return;
        }

        // A flapping breaker (one dead cluster shard: PINGs succeed, its keys fail) changes state every few hundred
        // milliseconds; one warning per minute says all there is to say.
        if (TryClaim(ref _lastUnavailableLog, UnavailableLogInterval))
        {
            Volatile.Write(ref _recoveryOwed, 1);
            Log.CacheUnavailable(_logger, reason.ToString(), _endpoint, _lastError);
        }
    }

    /// <summary>Every breaker is closed again: the Information line owed to the last warning, if any.</summary>
    public void OnAvailable()
    {
        if (Interlocked.Exchange(ref _recoveryOwed, 0) == 1)
        {
            Log.CacheRecovered(_logger, _endpoint);
        }
    }

    private void Set(FailureReason reason, string text)
    {
        _lastReason = (int)reason;
        _lastError = text;
    }

    /// <summary>Logs a configuration problem at its first occurrence, then at most every few minutes while it lasts.</summary>
    private void LogConfigurationProblemRarely(FailureReason reason)
    {
        if (TryClaim(ref _lastConfigurationErrorLog, ConfigurationErrorLogInterval))
        {
            Log.ConfigurationProblem(_logger, reason.ToString(), _endpoint, _lastError);
        }
    }

    private void LogCredentialsProblemRarely()
    {
        if (TryClaim(ref _lastCredentialsErrorLog, ConfigurationErrorLogInterval))
        {
            Log.CredentialsProviderFailed(_logger, _endpoint, _lastError);
        }
    }

    private bool IsRecent(long last) => last != 0 && _time.GetElapsedTime(last) < ConfigurationErrorLogInterval;

    private bool TryClaim(ref long lastAt, TimeSpan interval) => LogThrottle.TryClaim(_time, ref lastAt, interval);
}
