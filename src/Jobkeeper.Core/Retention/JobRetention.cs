using System.Diagnostics;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Retention;

/// <summary>What one retention pass did.</summary>
public sealed record RetentionResult(IReadOnlyDictionary<JobStatus, int> DeletedByStatus, IReadOnlyList<string> ArchiveFiles)
{
    public int DeletedCount => DeletedByStatus.Values.Sum();
}

/// <summary>
/// Deletes finished jobs past their retention, status by status, in batches of <c>CleanupBatchSize</c>: each batch is
/// read, archived (when an archive directory is set) and synced to disk first, and only then are exactly those jobs
/// deleted in one short transaction. A crash between the two can leave a job archived twice, never deleted unarchived.
/// </summary>
public sealed class JobRetention(IJobStore store, TimeProvider time, IOptions<JobkeeperOptions> options, ILogger<JobRetention> logger)
{
    private static readonly JobStatus[] TerminalStatuses = [.. JobStatusNames.All.Where(s => s.IsTerminal())];

    /// <summary>Runs one pass with the configured <see cref="RetentionOptions"/>.</summary>
    public Task<RetentionResult> RunAsync(CancellationToken cancellationToken = default) => RunAsync(options.Value.Retention, cancellationToken);

    public async Task<RetentionResult> RunAsync(RetentionOptions retention, CancellationToken cancellationToken = default)
    {
        var now = TimeMicros.Truncate(time.GetUtcNow());
        var batchSize = Math.Max(1, options.Value.CleanupBatchSize);
        var deleted = new Dictionary<JobStatus, int>();
        var started = Stopwatch.GetTimestamp();
        JobArchiveWriter? archive = null;
        try
        {
            foreach (var status in TerminalStatuses)
            {
                if (retention.DaysFor(status) is not { } days)
                {
                    continue;
                }

                var cutoff = now - TimeSpan.FromDays(Math.Clamp(days, 0, JobManager.MaxRetentionDays));
                var count = 0;
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var batch = await store.GetTerminalBatchAsync(cutoff, status, batchSize, cancellationToken).ConfigureAwait(false);
                    if (batch.Count == 0)
                    {
                        break;
                    }

                    if (retention.ArchiveDirectory is { Length: > 0 } directory)
                    {
                        var archived = new List<ArchivedJob>(batch.Count);
                        foreach (var job in batch)
                        {
                            archived.Add(new ArchivedJob(job, await ReadEventsAsync(job.Id, cancellationToken).ConfigureAwait(false)));
                        }

                        archive ??= JobArchiveWriter.Create(directory, now);
                        await archive.WriteBatchAsync(archived, cancellationToken).ConfigureAwait(false);
                    }

                    var ids = await store.DeleteTerminalAsync(batch.Select(j => j.Id).ToArray(), cutoff, cancellationToken).ConfigureAwait(false);
                    count += ids.Count;
                    if (ids.Count == 0 || batch.Count < batchSize)
                    {
                        // Nothing of this batch could go (all changed meanwhile), or the last batch: done with this status.
                        break;
                    }
                }

                deleted[status] = count;
            }
        }
        finally
        {
            if (archive is not null)
            {
                await archive.DisposeAsync().ConfigureAwait(false);
            }
        }

        var result = new RetentionResult(deleted, archive is null ? [] : [archive.Path]);
        if (result.DeletedCount > 0)
        {
            logger.LogInformation("Retention deleted {DeletedCount} finished jobs ({Completed} completed, {Failed} failed, {Cancelled} cancelled) in {ElapsedMs} ms{Archive}",
                result.DeletedCount, deleted.GetValueOrDefault(JobStatus.Completed), deleted.GetValueOrDefault(JobStatus.Failed),
                deleted.GetValueOrDefault(JobStatus.Cancelled), (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds,
                archive is null ? "" : $"; archived to {archive.Path}");
        }

        return result;
    }

    private async Task<IReadOnlyList<JobEvent>> ReadEventsAsync(string jobId, CancellationToken cancellationToken)
    {
        const int page = 10_000;
        var events = new List<JobEvent>();
        var after = 0L;
        while (true)
        {
            var next = await store.GetEventsAsync(jobId, after, page, cancellationToken).ConfigureAwait(false);
            events.AddRange(next);
            if (next.Count < page)
            {
                return events;
            }

            after = next[^1].Id;
        }
    }
}

/// <summary>
/// Runs <see cref="JobRetention"/> on the instance that leads maintenance, when it wins and then every <c>Retention.Interval</c>,
/// when any retention days are set.
/// </summary>
internal sealed class RetentionSweep(JobRetention retention, TimeProvider time, IOptions<JobkeeperOptions> options, ILogger<RetentionSweep> logger,
    Maintenance.IMaintenanceLeadership leadership)
    : Workers.PeriodicSweep(options.Value.Retention.Interval > TimeSpan.Zero ? options.Value.Retention.Interval : TimeSpan.FromHours(1), time, logger, leadership)
{
    protected override string What => "finished jobs past their retention";

    protected override async Task SweepAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Retention.Enabled)
        {
            await retention.RunAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
