using Jobkeeper.AspNetCore.Security;
using Jobkeeper.Telemetry;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Jobkeeper.Server;

/// <summary>
/// Telemetry of <c>jobkeeper serve</c>, through OpenTelemetry: Jobkeeper's and ASP.NET Core's metrics on <c>GET /metrics</c>
/// (Prometheus text, for the <c>read</c> role) and, when <c>Jobkeeper:Otlp:Endpoint</c> is set, traces and metrics sent there.
/// </summary>
internal static class ServerTelemetry
{
    public const string MetricsPath = "/metrics";

    public static void Add(WebApplicationBuilder builder, ServerSettings settings)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(settings.Otlp.ServiceName))
            .WithMetrics(m => m.AddJobkeeperInstrumentation().AddAspNetCoreInstrumentation().AddPrometheusExporter());
        if (settings.Otlp.Endpoint is not { } endpoint)
        {
            return;
        }

        // Spans are recorded only when there is somewhere to send them.
        telemetry.WithTracing(t => t
            .AddJobkeeperInstrumentation()
            .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsPolled(http.Request.Path)));
        var protocol = settings.Otlp.Protocol == OtlpSettings.HttpProtobuf ? OtlpExportProtocol.HttpProtobuf : OtlpExportProtocol.Grpc;
        telemetry.UseOtlpExporter(protocol, new Uri(endpoint));
    }

    /// <summary>
    /// <c>GET /metrics</c>: the Prometheus exporter's scrape endpoint. The job and queue counts are brought up to date first (they are at most
    /// a few seconds old, and keep their last value while the store cannot be read), so a scrape never reports counts older than that.
    /// </summary>
    public static void Map(WebApplication app)
    {
        var gauges = app.Services.GetRequiredService<JobkeeperGauges>();
        var queues = app.Services.GetRequiredService<Jobkeeper.Queues.QueueGauges>();
        app.MapPrometheusScrapingEndpoint(MetricsPath, meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (http, next) =>
            {
                await gauges.RefreshAsync(http.RequestAborted).ConfigureAwait(false);
                await queues.RefreshAsync(http.RequestAborted).ConfigureAwait(false);
                await next(http).ConfigureAwait(false);
            }), optionsName: null)
            .RequireJobkeeperRole(app, JobkeeperRoles.Read)
            .WithDisplayName("Metrics");
    }

    /// <summary>Scrapes and health probes come every few seconds and say nothing about jobs: they are not traced.</summary>
    private static bool IsPolled(PathString path) => path.StartsWithSegments(MetricsPath) || path.StartsWithSegments("/health");
}
