using Jobkeeper.Storage;

namespace Jobkeeper.Model;

/// <summary>
/// The one door through which every rule hands a changed job to the store: the patch, the worker calls, prompts,
/// the reaper, expiry, cancel and retry all build their replacement here. It checks what must hold of every change,
/// whoever made it: the status move is in the transition table (<see cref="JobStatusRules"/>), the version moves up
/// by one, a running job holds a lease, and a job that is not running holds none.
/// </summary>
internal static class StateChange
{
    public static JobReplacement Of(Job before, Job after, IReadOnlyList<JobEvent> events, bool labelsChanged = false)
    {
        if (after.Status != before.Status)
        {
            JobStatusRules.EnsureCanMove(before.Id, before.Status, after.Status);
        }

        if (after.Version != before.Version + 1)
        {
            throw new InvalidOperationException($"A change of job '{before.Id}' must take it from version {before.Version} to {before.Version + 1}, not {after.Version}.");
        }

        var leased = after.LeaseOwner is not null && after.LeaseToken is not null && after.LeaseExpiresAt is not null;
        if (after.Status == JobStatus.Running ? !leased : after.LeaseToken is not null || after.LeaseExpiresAt is not null)
        {
            throw new InvalidOperationException(after.Status == JobStatus.Running
                ? $"Job '{before.Id}' would be running without an owner and a lease; every way into running must give it one."
                : $"Job '{before.Id}' would be {after.Status.ToName()} and still hold a lease.");
        }

        return new JobReplacement(after, before.Version, events, labelsChanged);
    }
}
