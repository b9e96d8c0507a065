using Jobkeeper.Model;
using Jobkeeper.Storage;

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

    /// <summary>
    /// True when a claim that has taken <paramref name="taken"/> jobs of each type may take <paramref name="job"/> too: a type's
    /// limit holds over all the queues its walks came from.
    /// </summary>
    public static bool Allows(ClaimRequest request, Dictionary<string, int> taken, Job job)
    {
        if (request.Types.Count == 0 || !request.Types.TryGetValue(job.Type, out var limit))
        {
            return true;
        }

        taken.TryGetValue(job.Type, out var count);
        if (count >= limit)
        {
            return false;
        }

        taken[job.Type] = count + 1;
        return true;
    }

    /// <summary>
    /// True when <see cref="Allows"/> may refuse one of the next <paramref name="want"/> jobs: some type's limit has less room
    /// left than that. When not, a walk needs to read no more rows than it wants.
    /// </summary>
    public static bool MayRefuse(ClaimRequest request, Dictionary<string, int> taken, int want) =>
        request.Types.Any(type => type.Value - taken.GetValueOrDefault(type.Key) < want);

    /// <summary>
    /// The index walks a claim makes outside its flow-controlled queues (<paramref name="flowQueues"/>), each with how many rows it may take: one per type (per type and queue when the claim
    /// names queues), or with no types one per queue. The walks never overlap, so their rows need no de-duplication.
    /// </summary>
    public static IEnumerable<(string? Type, string? Queue, int Take)> Walks(ClaimRequest request, IReadOnlyList<string> flowQueues)
    {
        // Flow-controlled queues are walked apart (FlowClaim); a claim that names none passes them over in its type walks.
        var queues = request.Queues.Distinct(StringComparer.Ordinal).Where(q => !flowQueues.Contains(q, StringComparer.Ordinal)).ToList();
        if (request.Queues.Count > 0 && queues.Count == 0)
        {
            yield break;
        }

        if (request.Types.Count == 0)
        {
            foreach (var queue in queues)
            {
                yield return (null, queue, request.Max);
            }

            yield break;
        }

        foreach (var (type, limit) in request.Types)
        {
            var take = Math.Min(limit, request.Max);
            if (take <= 0)
            {
                continue;
            }

            if (queues.Count == 0)
            {
                yield return (type, null, take);
            }
            else
            {
                foreach (var queue in queues)
                {
                    yield return (type, queue, take);
                }
            }
        }
    }
}
