using Jobkeeper.Contracts;
using Jobkeeper.Caching;
using Jobkeeper.Maintenance;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// <c>GET /health</c>: 200 with store facts, counts and cache figures; 503 when the store cannot be read
/// (status <c>unavailable</c>) or is damaged (status <c>corrupt</c>). Always says whether this instance leads maintenance.
/// The counts come from <see cref="HealthCounts"/>: not recounted on every probe, fresh with <c>Cache-Control: no-cache</c>.
/// </summary>
internal sealed class HealthEndpoint(IJobStore store, JobCache cache, HealthCounts counts, IMaintenanceLeadership leadership,
    TimeProvider time, ILogger logger)
{
    private readonly DateTimeOffset _started = time.GetUtcNow();

    public async Task<IResult> GetAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var fresh = request.GetTypedHeaders().CacheControl?.NoCache == true;
        var lookups = cache.Hits + cache.Misses;
        var cacheInfo = new HealthCache(cache.Count, cache.Hits, cache.Misses, lookups == 0 ? 0 : Math.Round((double)cache.Hits / lookups, 4));
        var uptime = (long)(time.GetUtcNow() - _started).TotalSeconds;
        var description = store.Description;
        var maintenance = new HealthMaintenance(leadership.IsLeader);
        try
        {
            var stats = await counts.GetAsync(fresh, cancellationToken).ConfigureAwait(false);
            var byStatus = stats.JobsByStatus.ToDictionary(p => p.Key.ToName(), p => p.Value);
            return TypedResults.Json(
                new HealthResponse("ok", new HealthStore(stats.Provider, stats.Location, stats.SchemaVersion, stats.SizeBytes),
                    stats.JobsCount, byStatus, cacheInfo, uptime, null, maintenance),
                ApiJson.Context.HealthResponse);
        }
        catch (Errors.StoreCorruptException ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Not "unavailable": waiting will not bring a damaged store back, and an operator must act.
            return TypedResults.Json(
                new HealthResponse("corrupt", new HealthStore(description.Provider, description.Location, null, null),
                    null, null, cacheInfo, uptime, ex.Message, maintenance),
                ApiJson.Context.HealthResponse,
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Health check could not read the store");
            return TypedResults.Json(
                new HealthResponse("unavailable", new HealthStore(description.Provider, description.Location, null, null),
                    null, null, cacheInfo, uptime, "The store cannot be read: " + ex.Message, maintenance),
                ApiJson.Context.HealthResponse,
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
