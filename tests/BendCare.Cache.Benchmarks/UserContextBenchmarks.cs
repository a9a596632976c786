using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace BendCare.Cache.Benchmarks;

/// <summary>
/// The library's user-context read against a hand-written StackExchange.Redis + System.Text.Json cache-aside, on a
/// real Redis: a hit (GET + deserialise) and a miss (fresh key per invocation, loader returns a prebuilt value).
/// Ratio / Alloc Ratio columns compare each library benchmark with the baseline of its category.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class UserContextBenchmarks
{
    private BenchmarkFixture _fixture = null!;

    [GlobalSetup]
    public void GlobalSetup() => _fixture = BenchmarkFixture.CreateAsync().GetAwaiter().GetResult();

    [GlobalCleanup]
    public void GlobalCleanup() => _fixture.DisposeAsync().AsTask().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("hit")]
    public ValueTask<UserContext?> Baseline_hand_written_hit() => _fixture.BaselineHitAsync();

    [Benchmark]
    [BenchmarkCategory("hit")]
    public ValueTask<UserContext?> Library_user_context_hit() => _fixture.LibraryHitAsync();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("miss")]
    public ValueTask<UserContext?> Baseline_hand_written_miss() => _fixture.BaselineMissAsync();

    [Benchmark]
    [BenchmarkCategory("miss")]
    public ValueTask<UserContext?> Library_user_context_miss() => _fixture.LibraryMissAsync();
}
