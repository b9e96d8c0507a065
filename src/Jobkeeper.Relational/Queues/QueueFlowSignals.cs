using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational.Queues;

/// <summary>When a commit lets held-back jobs start: a claim waiting on a limit must wake when a running job of its queue stops.</summary>
internal static class QueueFlowSignals
{
    /// <summary>
    /// The types of the jobs in <paramref name="changes"/> that stopped running in a queue whose settings hold jobs back
    /// (they changed status and are neither running nor queued: a queued job wakes waiters anyway).
    /// </summary>
    public static IReadOnlyCollection<string> FreedTypes(IReadOnlyList<CommittedChange> changes, QueueFlowSnapshot flow)
    {
        if (flow.HoldingBack.Count == 0)
        {
            return [];
        }

        HashSet<string>? types = null;
        foreach (var change in changes)
        {
            if (Frees(change.Job, change.Events, flow))
            {
                (types ??= new HashSet<string>(StringComparer.Ordinal)).Add(change.Job!.Type);
            }
        }

        return (IReadOnlyCollection<string>?)types ?? [];
    }

    /// <summary>Whether this change of <paramref name="job"/> stopped it running in a queue whose settings hold jobs back.</summary>
    public static bool Frees(Job? job, IReadOnlyList<JobEvent> events, QueueFlowSnapshot flow) =>
        flow.HoldingBack.Count > 0 && job is { Status: not (JobStatus.Running or JobStatus.Queued) } && flow.HoldsBack(job.Queue)
        && events.Any(e => e.Type == JobEventTypes.StatusChanged);
}
