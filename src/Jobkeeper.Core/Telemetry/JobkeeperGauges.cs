using System.Diagnostics.Metrics;
using Jobkeeper.Model;

namespace Jobkeeper.Telemetry;

/// <summary>
/// The observable instruments of one <see cref="JobManager"/>: jobs by status (from the store's counts, read at most
/// once per <see cref="StatsMaxAge"/>) and the hot cache's size, hits and misses. They live on their own "Jobkeeper"
/// meter whose scope is the manager, so several hosts in one process each report their own.
/// </summary>
public sealed class JobkeeperGauges : IDisposable
{
    /// <summary>How old the job counts may be before an observation reads them again.</summary>
    public static readonly TimeSpan StatsMaxAge = TimeSpan.FromSeconds(5);

    private static readonly KeyValuePair<string, object?>[][] StatusTags =
        [.. JobStatusNames.All.Select(s => new[] { new KeyValuePair<string, object?>("status", s.ToName()) })];

    private readonly JobManager _manager;

    public JobkeeperGauges(JobManager manager)
    {
        _manager = manager;
        Meter = new Meter(JobkeeperMetrics.Name, null, null, manager);
        Meter.CreateObservableGauge("jobkeeper.jobs", ObserveStatuses, "{job}", "Jobs in the store by status (counts at most a few seconds old)");
        Meter.CreateObservableGauge("jobkeeper.jobs.driven", () => manager.DrivenCount, "{job}",
            "Jobs this process set running itself and keeps alive (app-driven jobs renewed while the process lives)");
        Meter.CreateObservableGauge("jobkeeper.cache.entries", () => manager.Cache.Count, "{job}", "Jobs held in the hot cache");
        Meter.CreateObservableCounter("jobkeeper.cache.hits", () => manager.Cache.Hits, "{lookup}", "Cache lookups answered from memory");
        Meter.CreateObservableCounter("jobkeeper.cache.misses", () => manager.Cache.Misses, "{lookup}", "Cache lookups that went to the store");
    }

    /// <summary>The meter these instruments are on (name "Jobkeeper", scope the manager).</summary>
    public Meter Meter { get; }

    /// <summary>Brings the job counts up to date when they are older than <see cref="StatsMaxAge"/>; a failed read leaves the last counts.</summary>
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

    public void Dispose() => Meter.Dispose();
}
