using Jobkeeper.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Hosting;

/// <summary>Opens and migrates the store at start-up, says what it opened, and drains it at shutdown.</summary>
internal sealed class JobStoreLifetime(
    IJobStore store,
    IOptions<JobkeeperOptions> options,
    ILogger<JobStoreLifetime> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        var stats = await store.GetStatsAsync(cancellationToken).ConfigureAwait(false);
        logger.LogInformation(
            "Store {Provider} at {Location}: schema version {SchemaVersion}, {JobsCount} jobs",
            stats.Provider, stats.Location, stats.SchemaVersion, stats.JobsCount);
        var cacheOptions = options.Value.Cache;
        logger.LogInformation(
            "Cache: up to {MaxEntries} jobs, entries expire {TtlMinutes} min after last use",
            cacheOptions.MaxEntries, cacheOptions.Ttl.TotalMinutes);
        logger.LogInformation("Cache sweep every {SweepMinutes} min", cacheOptions.SweepInterval.TotalMinutes);
        
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Disposing drains the writes already accepted, then closes; nothing acknowledged is lost.
        await store.DisposeAsync().ConfigureAwait(false);
        logger.LogInformation("Store {Provider} closed after draining pending writes", store.Description.Provider);
    }
}
