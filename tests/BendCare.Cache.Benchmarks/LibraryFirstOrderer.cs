using System.Collections.Immutable;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Order;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace BendCare.Cache.Benchmarks;

/// <summary>
/// <c>--library-first</c>: runs each category's library benchmark before its baseline (the default order is the
/// reverse). A control for drifting background load: if the ratio flips with the order, the difference is the
/// machine, not the code.
/// </summary>
internal sealed class LibraryFirstOrderer : IOrderer
{
    private readonly IOrderer _inner = DefaultOrderer.Instance;

    public bool SeparateLogicalGroups => _inner.SeparateLogicalGroups;

    public IEnumerable<BenchmarkCase> GetExecutionOrder(ImmutableArray<BenchmarkCase> benchmarksCase, IEnumerable<BenchmarkLogicalGroupRule>? order = null)
    {
        var categories = benchmarksCase.Select(Category).Distinct().ToList();
        return _inner.GetExecutionOrder(benchmarksCase, order)
            .OrderBy(c => categories.IndexOf(Category(c)))
            .ThenBy(static c => c.Descriptor.Baseline);
    }

    public IEnumerable<BenchmarkCase> GetSummaryOrder(ImmutableArray<BenchmarkCase> benchmarksCases, Summary summary) =>
        _inner.GetSummaryOrder(benchmarksCases, summary);

    public string? GetHighlightGroupKey(BenchmarkCase benchmarkCase) => _inner.GetHighlightGroupKey(benchmarkCase);

    public string GetLogicalGroupKey(ImmutableArray<BenchmarkCase> allBenchmarksCases, BenchmarkCase benchmarkCase) =>
        _inner.GetLogicalGroupKey(allBenchmarksCases, benchmarkCase) ?? "";

    public IEnumerable<IGrouping<string, BenchmarkCase>> GetLogicalGroupOrder(IEnumerable<IGrouping<string, BenchmarkCase>> logicalGroups, IEnumerable<BenchmarkLogicalGroupRule>? order = null) =>
        _inner.GetLogicalGroupOrder(logicalGroups, order);

    private static string Category(BenchmarkCase benchmarkCase) => string.Join(",", benchmarkCase.Descriptor.Categories);
}
