using System.Collections.Concurrent;
using Jobkeeper.Model;

namespace Jobkeeper.Workers;

/// <summary>
/// The jobs this process's <see cref="JobManager"/> set running and still drives: each under the lease token this
/// process gave it. <see cref="DrivenJobKeeper"/> renews them; <see cref="JobManager"/> adds and drops them as its
/// updates return.
/// </summary>
internal sealed class DrivenJobs
{
    private readonly ConcurrentDictionary<string, DrivenJob> _jobs = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a job is added or needs renewing sooner than it did.</summary>
    public Task Changed => Volatile.Read(ref _changed).Task;

    public int Count => _jobs.Count;

    /// <summary>
    /// Follows the job an update or renewal returned: a tracked job is kept (with its new lease) while it still runs
    /// under the tracked token, and dropped once it does not; an untracked job is added when it runs under
    /// <paramref name="newToken"/>, the token this process just gave it.
    /// </summary>
    public void Observe(Job job, string? newToken)
    {
        var token = _jobs.TryGetValue(job.Id, out var tracked) ? tracked.Token : newToken;
        if (token is not null && job.Status == JobStatus.Running && string.Equals(job.LeaseToken, token, StringComparison.Ordinal)
            && job.LeaseExpiresAt is { } expires && job.LeaseDuration is { } length)
        {
            var entry = new DrivenJob(token, expires, length, job.CancelRequestedAt is not null);
            _jobs[job.Id] = entry;
            if (tracked is null || entry.RenewAt < tracked.RenewAt)
            {
                // The keeper may be asleep past this job's renewal: wake it.
                Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
        }
        else if (tracked is not null)
        {
            _jobs.TryRemove(new KeyValuePair<string, DrivenJob>(job.Id, tracked));
        }
    }

    public void Forget(string id, DrivenJob entry) => _jobs.TryRemove(new KeyValuePair<string, DrivenJob>(id, entry));

    public IReadOnlyList<KeyValuePair<string, DrivenJob>> Snapshot() => _jobs.ToArray();

    public void Clear() => _jobs.Clear();
}

/// <summary>A job this process drives: its lease token, when the lease ends, its length, and whether a cancel cut it.</summary>
internal sealed record DrivenJob(string Token, DateTimeOffset ExpiresAt, TimeSpan Length, bool CancelRequested)
{
    /// <summary>A third into the lease: renewing then leaves two thirds of it for a failed renewal to be tried again.</summary>
    public DateTimeOffset RenewAt => ExpiresAt - (Length * 2 / 3);
}
