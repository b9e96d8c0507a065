using Jobkeeper.Errors;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// Ready when the store can be read and is not damaged (<c>/health/ready</c>). It reads the store's counts at most
/// once per <see cref="HealthCounts.MaxAge"/>, shared by every caller, so frequent probes cost one count per interval.
/// </summary>
public sealed class JobStoreHealthCheck(JobManager manager) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var stats = await manager.GetRecentStatsAsync(HealthCounts.MaxAge, cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"{stats.Provider} store at {stats.Location} is readable");
        }
        catch (StoreCorruptException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Not only unavailable: waiting will not bring a damaged store back.
            return HealthCheckResult.Unhealthy("The store is damaged: " + ex.Message);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("The store cannot be read: " + ex.Message);
        }
    }
}
