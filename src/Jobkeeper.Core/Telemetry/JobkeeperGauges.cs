using System.Diagnostics.Metrics;
using Jobkeeper.Caching;
using Jobkeeper.Model;
using Microsoft.Extensions.Hosting;

namespace Jobkeeper.Telemetry;

/// <summary>
/// The observable instruments of one host, on its "Jobkeeper" meter (<see cref="JobkeeperInstruments.Meter"/>): jobs by
/// status (from the store's counts, read at most once per <see cref="StatsMaxAge"/>, and kept when the store cannot be
/// read), app-driven jobs, the hot cache's size, hits and misses, and whether this instance leads maintenance. Published
/// when the host starts.
/// </summary>
public sealed class JobkeeperGauges : IHostedService
{
    /// <summary>How old the job counts may be before an observation reads them again.</summary>
    public static readonly TimeSpan StatsMaxAge = TimeSpan.FromSeconds(5);

    private static readonly KeyValuePair<string, object?>[][] StatusTags =
        [.. JobStatusNames.All.Select(s => new[] { new KeyValuePair<string, object?>("status", s.ToName()) })];

    private readonly JobManager _manager;

    internal JobkeeperGauges(JobManager manager, JobCache cache, Workers.DrivenJobs driven, JobkeeperInstruments instruments, Maintenance.IMaintenanceLeadership leadership)
    {
        ArgumentNullException.ThrowIfNull(leadership);
        _manager = manager;
        var meter = instruments.Meter;
        meter.CreateObservableGauge("jobkeeper.jobs", ObserveStatuses, "{job}", "Jobs in the store by status (counts at most a few seconds old)");
        meter.CreateObservableGauge("jobkeeper.jobs.driven", () => driven.Count, "{job}",
            "Jobs this process set running itself and keeps alive (app-driven jobs renewed while the process lives)");
        meter.CreateObservableGauge("jobkeeper.cache.entries", () => cache.Count, "{job}", "Jobs held in the hot cache");
        meter.CreateObservableCounter("jobkeeper.cache.hits", () => cache.Hits, "{lookup}", "Cache lookups answered from memory");
        meter.CreateObservableCounter("jobkeeper.cache.misses", () => cache.Misses, "{lookup}", "Cache lookups that went to the store");
        meter.CreateObservableGauge("jobkeeper.maintenance.leader", () => leadership.IsLeader ? 1 : 0, "{instance}",
            "1 while this instance runs maintenance (lease reaper, prompt expiry, retention) for its store, else 0");
    }

    /// <summary>
    /// Brings the job counts up to date when they are older than <see cref="StatsMaxAge"/>; a failed read leaves the last counts.
    /// A scrape endpoint awaits this first, so the counts it serves are at most a few seconds old.
    /// </summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _manager.GetRecentStatsAsync(StatsMaxAge, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The store cannot be read now (the health endpoint says so); the gauges keep the last counts they had.
        }
    }

    private Measurement<long>[] ObserveStatuses()
    {
        // Stale counts (or none yet) start a read for the next observation rather than block this one.
        _ = RefreshAsync(CancellationToken.None);
        if (_manager.LastStats is not { } stats)
        {
            return [];
        }

        var measurements = new Measurement<long>[StatusTags.Length];
        foreach (var status in JobStatusNames.All)
        {
            measurements[(int)status] = new Measurement<long>(stats.JobsByStatus.GetValueOrDefault(status), StatusTags[(int)status]);
        }

        return measurements;
    }

    /// <summary>The instruments exist from construction; starting only makes the host construct them.</summary>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
