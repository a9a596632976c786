using Microsoft.Extensions.Logging;

namespace BendCare.Cache.IntegrationTests.Infrastructure;

/// <summary>Writes log entries to standard error with a short prefix; used for the embedded Garnet server.</summary>
internal sealed class StandardErrorLoggerProvider(string prefix) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new StandardErrorLogger(prefix, categoryName);

    public void Dispose()
    {
    }

    private sealed class StandardErrorLogger(string prefix, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            Console.Error.WriteLine($"[{prefix}] {logLevel} {category}: {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception)}");
        }
    }
}
