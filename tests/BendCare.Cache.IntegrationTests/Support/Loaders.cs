namespace BendCare.Cache.IntegrationTests.Support;

/// <summary>A database stand-in that counts its calls.</summary>
public sealed class CountingLoader<T>
{
    private readonly Func<int, T> _value;
    private int _calls;

    public CountingLoader(Func<int, T> value) => _value = value;

    public CountingLoader(T value)
        : this(_ => value)
    {
    }

    public int Calls => Volatile.Read(ref _calls);

    public ValueTask<T> Load(CancellationToken cancellationToken)
    {
        int call = Interlocked.Increment(ref _calls);
        return ValueTask.FromResult(_value(call));
    }
}

/// <summary>A loader that stops until the test releases it: orders the steps of a race without sleeping.</summary>
public sealed class GatedLoader<T>
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly T _value;
    private int _calls;

    public GatedLoader(T value) => _value = value;

    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Completes when the loader has been entered.</summary>
    public Task Started => _started.Task;

    public void Release() => _release.TrySetResult();

    public async ValueTask<T> Load(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        _started.TrySetResult();
        await _release.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        return _value;
    }
}
