using Jobkeeper.Telemetry;

namespace OpenTelemetry.Metrics;

public static class JobkeeperMeterProviderBuilderExtensions
{
    /// <summary>
    /// Collects Jobkeeper's metrics (the "Jobkeeper" meter: jobs created, completed, failed and retried, expired leases,
    /// queue wait, run duration, jobs by status, cache and store commits). See docs/operations.md, "Metrics".
    /// </summary>
    public static MeterProviderBuilder AddJobkeeperInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(JobkeeperTelemetry.MeterName);
    }
}
