using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper;

public sealed partial class JobManager
{
    /// <summary>The longest window <see cref="GetWorkersAsync"/> looks back over.</summary>
    public static readonly TimeSpan MaxWorkersWindow = TimeSpan.FromHours(1);

    /// <summary>Running jobs read to find who holds what; past this many the holders are counted from the first ones only.</summary>
    private const int MaxRunningRead = 10_000;

    private const int JobsPerWorker = 50;

    /// <summary>
    /// The workers heard from within <paramref name="within"/> on any instance (each instance stores what it saw every few
    /// seconds), and every worker that holds running jobs: what it holds, when it was last heard from, and what it claimed,
    /// completed and failed over the last five minutes (summed over the instances that saw it). Most recently seen first.
    /// </summary>
    public async Task<IReadOnlyList<WorkerInfo>> GetWorkersAsync(TimeSpan within, CancellationToken cancellationToken = default)
    {
        if (within <= TimeSpan.Zero || within > MaxWorkersWindow)
        {
            throw new JobValidationException("within_seconds", $"must be from 1 to {MaxWorkersWindow.TotalSeconds:0} seconds");
        }

        var seen = await _store.GetWorkersAsync(Now() - within, cancellationToken).ConfigureAwait(false);
        var held = await RunningByWorkerAsync(cancellationToken).ConfigureAwait(false);
        var byWorker = seen.ToLookup(s => s.WorkerId, StringComparer.Ordinal);
        var workers = new List<WorkerInfo>();
        foreach (var id in seen.Select(s => s.WorkerId).Concat(held.Keys).Distinct(StringComparer.Ordinal))
        {
            var rows = byWorker[id].ToList();
            var jobs = held.TryGetValue(id, out var list) ? list : [];
            var completed = rows.Sum(r => r.CompletedLast5Minutes);
            workers.Add(new WorkerInfo
            {
                WorkerId = id,
                Kind = rows.Count > 0 ? rows.MaxBy(r => r.LastSeen)!.Kind : id == _options.Workers.WorkerId ? Workers.WorkerActivity.InProcess : Workers.WorkerActivity.Http,
                LastSeenAt = rows.Count > 0 ? rows.Max(r => r.LastSeen) : null,
                Instances = rows.Count,
                Running = jobs.Count,
                Jobs = [.. jobs.OrderBy(j => j.LeaseExpiresAt).Take(JobsPerWorker)],
                ClaimedLast5Minutes = rows.Sum(r => r.ClaimedLast5Minutes),
                CompletedLast5Minutes = completed,
                FailedLast5Minutes = rows.Sum(r => r.FailedLast5Minutes),
                CompletedPerMinute = Math.Round(completed / 5.0, 1),
            });
        }

        return [.. workers.OrderByDescending(w => w.LastSeenAt ?? DateTimeOffset.MinValue).ThenBy(w => w.WorkerId, StringComparer.Ordinal)];
    }

    private async Task<Dictionary<string, List<WorkerJob>>> RunningByWorkerAsync(CancellationToken cancellationToken)
    {
        var held = new Dictionary<string, List<WorkerJob>>(StringComparer.Ordinal);
        var query = new JobQuery { Statuses = [JobStatus.Running], Limit = JobQuery.MaxLimit };
        for (var read = 0; read < MaxRunningRead;)
        {
            var page = await _store.ListAsync(query, cancellationToken).ConfigureAwait(false);
            foreach (var job in page.Items.Where(j => j.LeaseOwner is not null))
            {
                if (!held.TryGetValue(job.LeaseOwner!, out var jobs))
                {
                    held[job.LeaseOwner!] = jobs = [];
                }

                jobs.Add(new WorkerJob(job.Id, job.Type, job.Queue, job.StartedAt, job.LeaseExpiresAt));
            }

            read += page.Items.Count;
            if (page.Next is null)
            {
                break;
            }

            query = query with { After = page.Next };
        }

        return held;
    }
}
