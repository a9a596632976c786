using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace BendCare.Cache.ReferenceService.Operations;

/// <summary><c>/health</c>, <c>/stats</c>, the live page <c>/</c> and the Prometheus scrape <c>/metrics</c>; none of them counted as requests served.</summary>
internal static class OperationsEndpoints
{
    private static readonly string[] Paths = ["/", "/stats", "/health", "/metrics", "/favicon.ico"];

    private static readonly Lazy<string> LivePage = new(() =>
    {
        using var stream = typeof(OperationsEndpoints).Assembly.GetManifestResourceStream("LivePage.index.html")
            ?? throw new InvalidOperationException("The live page is not embedded in the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    public static bool IsOperations(PathString path) => Paths.Any(p => path.Equals(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>Counts every request that is not an operations request, whatever its status (401s and 403s too).</summary>
    public static IApplicationBuilder UseRequestCounting(this IApplicationBuilder app)
    {
        var stats = app.ApplicationServices.GetRequiredService<ServiceStats>();
        return app.Use(async (context, next) =>
        {
            await next(context);
            if (!IsOperations(context.Request.Path))
            {
                stats.RequestServed(context.Response.StatusCode);
            }
        });
    }

    public static void MapOperations(this IEndpointRouteBuilder app)
    {
        // Degraded (Redis unusable: requests are served from the database) is still a working service: 200.
        app.MapHealthChecks("/health", new HealthCheckOptions
        {
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
            ResponseWriter = WriteHealthAsync,
        });

        app.MapGet("/stats", (HttpContext http, ServiceStats stats) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            return Results.Ok(stats.Snapshot());
        });

        app.MapGet("/", () => Results.Content(LivePage.Value, "text/html; charset=utf-8"));
    }

    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description, data = e.Value.Data }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, JsonSerializerOptions.Web, context.RequestAborted);
    }
}
