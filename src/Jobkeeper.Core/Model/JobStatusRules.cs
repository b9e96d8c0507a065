namespace Jobkeeper.Model;

/// <summary>
/// The transition table: which status may follow which. Everything not listed is refused, so an
/// illegal move (completed → running, say) can never reach the store.
/// </summary>
public static class JobStatusRules
{
    private static readonly Dictionary<JobStatus, JobStatus[]> Allowed = new()
    {
        // A queued job may start, be cancelled, or be failed before it ever ran (bad input found early).
        [JobStatus.Queued] = [JobStatus.Running, JobStatus.Cancelled, JobStatus.Failed],
        // A running job ends, asks a human, or goes back to the queue (retry, lost lease, released).
        [JobStatus.Running] = [JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled, JobStatus.Waiting, JobStatus.Queued],
        // A waiting job is requeued by an answer, or ends by cancellation or prompt expiry.
        [JobStatus.Waiting] = [JobStatus.Queued, JobStatus.Cancelled, JobStatus.Failed],
        [JobStatus.Completed] = [],
        // Failed and cancelled jobs may only be retried.
        [JobStatus.Failed] = [JobStatus.Queued],
        [JobStatus.Cancelled] = [JobStatus.Queued],
    };

    public static bool CanMove(JobStatus from, JobStatus to) => Array.IndexOf(Allowed[from], to) >= 0;

    public static IReadOnlyList<JobStatus> NextOf(JobStatus from) => Allowed[from];

    /// <summary>Throws <see cref="Errors.InvalidTransitionException"/> when <paramref name="to"/> may not follow <paramref name="from"/>.</summary>
    public static void EnsureCanMove(string jobId, JobStatus from, JobStatus to)
    {
        if (!CanMove(from, to))
        {
            throw new Errors.InvalidTransitionException(jobId, from, to, Allowed[from]);
        }
    }
}
