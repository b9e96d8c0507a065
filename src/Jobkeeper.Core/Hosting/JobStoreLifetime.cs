using Jobkeeper.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Hosting;

/// <summary>
/// Opens and migrates the store before any hosted service starts, says what it opened, and drains
/// and closes it only after every hosted service has stopped — whatever order they were registered in,
/// so an app's own workers can still write while they shut down.
/// </summary>
internal sealed class JobStoreLifetime(
    IJobStore store,
    IOptions<JobkeeperOptions> options,
    Queues.QueueManager queues,
    ILogger<JobStoreLifetime> logger) : IHostedLifecycleService
{
    public async Task StartingAsync(CancellationToken cancellationToken)
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
        foreach (var (name, declared) in options.Value.Queues.OrderBy(q => q.Key, StringComparer.Ordinal))
        {
            // Before any worker starts: its first claim already sees the declared limits.
            await queues.DeclareAsync(name, declared, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        // Disposing drains the writes already accepted, then closes; nothing acknowledged is lost.
        await store.DisposeAsync().ConfigureAwait(false);
        logger.LogInformation("Store {Provider} closed after draining pending writes", store.Description.Provider);
    }
}
