using System.Diagnostics.Metrics;
using BendCare.Cache.Diagnostics;

namespace BendCare.Cache.UnitTests.Support;

/// <summary>Sums one instrument of one metrics instance (other tests' meters of the same name are ignored).</summary>
internal sealed class MetricCount : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _value;

    public MetricCount(CacheMetrics metrics, string instrumentName)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter) && instrument.Name == instrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _value, value));
        _listener.Start();
    }

    public long Value => Interlocked.Read(ref _value);

    public void Dispose() => _listener.Dispose();
}
