using Jobkeeper.Caching;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Hosting;

/// <summary>Drops expired cache entries on a schedule and logs how many.</summary>
internal sealed class CacheSweepService(JobCache cache, TimeProvider time, ILogger<CacheSweepService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(cache.Options.SweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var expired = cache.Sweep();
                logger.LogInformation("Cache sweep expired {ExpiredCount} entries; {EntryCount} remain", expired, cache.Count);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
