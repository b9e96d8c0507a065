using Jobkeeper.Model;

namespace Jobkeeper.Relational;

/// <summary>The order claims take due jobs in (<see cref="Storage.IJobStore.ClaimAsync"/>); the claim indexes hold each type's jobs in it.</summary>
internal static class ClaimOrder
{
    /// <summary>Highest priority first, then earliest <c>run_at</c>, then id: merges the candidates of several types.</summary>
    public static readonly Comparison<Job> Compare = (a, b) =>
    {
        var byPriority = b.Priority.CompareTo(a.Priority);
        if (byPriority != 0)
        {
            return byPriority;
        }

        var byRunAt = a.RunAt.CompareTo(b.RunAt);
        return byRunAt != 0 ? byRunAt : string.CompareOrdinal(a.Id, b.Id);
    };
}
