using BendCare.Cache.Serialization;

namespace BendCare.Cache.CacheAside;

/// <summary>
/// One cache type as the public edge uses it: its definition, the engine, and the argument rules of the API
/// (ids checked before any I/O, with the public parameter's name, in the order id, raw token, loader). Each facade member
/// is one call into one of these; every getter, with or without state, ends in the one engine call.
/// </summary>
/// <typeparam name="T">The cached value's type.</typeparam>
internal sealed class CachePath<T>
{
    private readonly CacheAsideEngine _engine;
    private readonly string _idParameter;
    private readonly string _valueParameter;
    private readonly Func<T, string>? _idOf;

    /// <param name="engine">The engine.</param>
    /// <param name="type">The cache type.</param>
    /// <param name="idParameter">The public parameter that carries an id (<c>userId</c>, <c>tokenId</c>, ...).</param>
    /// <param name="valueParameter">The public parameter that carries a value to set (<c>context</c>, ...).</param>
    /// <param name="idOf">A value's id, for setters; <see langword="null"/> for a type without setters.</param>
    public CachePath(CacheAsideEngine engine, CacheType<T> type, string idParameter, string valueParameter, Func<T, string>? idOf)
    {
        _engine = engine;
        Type = type;
        _idParameter = idParameter;
        _valueParameter = valueParameter;
        _idOf = idOf;
    }

    public CacheType<T> Type { get; }

    public ValueTask<T?> GetAsync(string id, Func<CancellationToken, ValueTask<T?>> loader, CancellationToken cancellationToken)
    {
        // The id first, then the loader, as in every member (the stateful overload's own loader is never null here).
        IdValidator.Validate(id, _idParameter);
        ArgumentNullException.ThrowIfNull(loader);
        return GetCheckedAsync(id, null, loader, static (load, ct) => load(ct), cancellationToken);
    }

    public ValueTask<T?> GetAsync<TState>(string id, TState state, Func<TState, CancellationToken, ValueTask<T?>> loader, CancellationToken cancellationToken)
    {
        IdValidator.Validate(id, _idParameter);
        ArgumentNullException.ThrowIfNull(loader);
        return GetCheckedAsync(id, null, state, loader, cancellationToken);
    }

    /// <summary>A getter whose hit must carry the fingerprint of <paramref name="rawToken"/> (values bound to their token).</summary>
    public ValueTask<T?> GetBoundAsync(string id, string rawToken, Func<CancellationToken, ValueTask<T?>> loader, CancellationToken cancellationToken)
    {
        IdValidator.Validate(id, _idParameter);
        ArgumentException.ThrowIfNullOrEmpty(rawToken);
        ArgumentNullException.ThrowIfNull(loader);
        return GetCheckedAsync(id, Envelope.Fingerprint(rawToken), loader, static (load, ct) => load(ct), cancellationToken);
    }

    public ValueTask<T?> GetBoundAsync<TState>(string id, string rawToken, TState state, Func<TState, CancellationToken, ValueTask<T?>> loader, CancellationToken cancellationToken)
    {
        IdValidator.Validate(id, _idParameter);
        ArgumentException.ThrowIfNullOrEmpty(rawToken);
        ArgumentNullException.ThrowIfNull(loader);
        return GetCheckedAsync(id, Envelope.Fingerprint(rawToken), state, loader, cancellationToken);
    }

    /// <summary>Every getter ends here, its arguments checked: the one call into the engine.</summary>
    private ValueTask<T?> GetCheckedAsync<TState>(string id, byte[]? fingerprint, TState state, Func<TState, CancellationToken, ValueTask<T?>> loader, CancellationToken cancellationToken) =>
        _engine.GetOrLoadAsync(Type, id, fingerprint, state, loader, cancellationToken);

    public ValueTask SetAsync(T value, CancellationToken cancellationToken) => SetAsync(value, fingerprint: null, cancellationToken);

    public ValueTask SetBoundAsync(T value, string rawToken, CancellationToken cancellationToken)
    {
        string id = ValidatedIdOf(value);
        ArgumentException.ThrowIfNullOrEmpty(rawToken);
        return _engine.SetAsync(Type, id, value, Envelope.Fingerprint(rawToken), cancellationToken);
    }

    public ValueTask InvalidateAsync(string id, CancellationToken cancellationToken)
    {
        IdValidator.Validate(id, _idParameter);
        return _engine.InvalidateAsync(Type, id, cancellationToken);
    }

    /// <summary>Invalidates many ids at once; every id is checked before the first write.</summary>
    public ValueTask InvalidateManyAsync(IEnumerable<string> ids, string parameterName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids, parameterName);
        var checkedIds = ids.ToArray();
        foreach (string id in checkedIds)
        {
            IdValidator.Validate(id, parameterName);
        }

        return _engine.InvalidateManyAsync(Type, checkedIds, cancellationToken);
    }

    private ValueTask SetAsync(T value, byte[]? fingerprint, CancellationToken cancellationToken) =>
        _engine.SetAsync(Type, ValidatedIdOf(value), value, fingerprint, cancellationToken);

    private string ValidatedIdOf(T value)
    {
        ArgumentNullException.ThrowIfNull(value, _valueParameter);
        string id = (_idOf ?? throw new InvalidOperationException($"{Type.Name} values are not set directly."))(value);
        IdValidator.Validate(id, _valueParameter);
        return id;
    }
}
