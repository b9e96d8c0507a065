using Jobkeeper.Storage;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// The store's counts for <c>GET /health</c>, counted at most every <see cref="MaxAge"/> while nothing changes them:
/// a full count is a scan of the jobs table, and probes and dashboards ask every few seconds. The counts served are
/// exact as far as this process knows: any change to them here (or a change announced by another instance) starts a
/// new count, so a caller always sees its own writes. <c>Cache-Control: no-cache</c> asks for a new count.
/// </summary>
internal sealed class HealthCounts(JobManager manager, JobCountChanges changes, TimeProvider time)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);

    private Reading? _last;

    public async Task<StoreStats> GetAsync(bool fresh, CancellationToken cancellationToken)
    {
        var version = changes.Version;
        if (!fresh && Volatile.Read(ref _last) is { } last && last.Version == version && time.GetElapsedTime(last.ReadAt) < MaxAge)
        {
            return last.Stats;
        }

        // The version is taken before the count, so a change committed during it makes the next caller count again.
        var readAt = time.GetTimestamp();
        var stats = await manager.GetStatsAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _last, new Reading(stats, readAt, version));
        return stats;
    }

    private sealed record Reading(StoreStats Stats, long ReadAt, long Version);
}
