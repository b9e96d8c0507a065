using Microsoft.Extensions.Logging;

namespace Jobkeeper.Workers;

/// <summary>
/// Keeps the search index (<c>q=</c>) up to date: about twice a second, moves the jobs whose text changed into it, a few
/// thousand per transaction (<see cref="Storage.IJobStore.IndexSearchAsync"/>). A search sees a change within about that.
/// Runs on the instance that leads maintenance.
/// </summary>
internal sealed class SearchIndexer(Storage.IJobStore store, TimeProvider time, ILogger<SearchIndexer> logger, Maintenance.IMaintenanceLeadership leadership)
    : PeriodicSweep(Interval, time, logger, leadership)
{
    /// <summary>How often the index catches up: what a search may lag behind a change.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    /// <summary>Jobs per transaction: one FTS segment per batch instead of one per commit, and writers wait at most one batch.</summary>
    private const int BatchSize = 2000;

    protected override string What => "jobs to index for search";

    protected override async Task SweepAsync(CancellationToken cancellationToken)
    {
        while (await store.IndexSearchAsync(BatchSize, cancellationToken).ConfigureAwait(false) == BatchSize)
        {
        }
    }
}
