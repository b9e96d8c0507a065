using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational.Queues;

/// <summary>The flow-controlled part of one claim: the queues it must walk under flow control, and the walk itself.</summary>
internal static class FlowClaim
{
    private static int s_rotation;

    /// <summary>
    /// The flow-controlled queues a claim may take jobs from: those it names, or with no queues named, all of them (its
    /// other walks pass them over). Sorted by name: the order PostgreSQL takes their locks in.
    /// </summary>
    public static IReadOnlyList<QueueSettings> QueuesOf(ClaimRequest request, QueueFlowSnapshot flow)
    {
        if (flow.HoldingBack.Count == 0)
        {
            return [];
        }

        if (request.Queues.Count == 0)
        {
            return flow.HoldingBack;
        }

        return [.. flow.HoldingBack.Where(q => request.Queues.Contains(q.Name, StringComparer.Ordinal))];
    }

    /// <summary>
    /// Fills what the claim's other walks left of <see cref="ClaimRequest.Max"/> from its flow-controlled queues, each taking
    /// what its limits allow. The first queue turns from claim to claim, so that no queue always fills a small claim first.
    /// </summary>
    public static async ValueTask<List<Job>> PickAsync(IFlowSession session, ClaimRequest request, IReadOnlyList<QueueSettings> queues, int alreadyTaken,
        Dictionary<string, int> takenByType, HashSet<string> skip, CancellationToken cancellationToken, FlowPending? pending = null)
    {
        var picked = new List<Job>();
        if (queues.Count == 0)
        {
            return picked;
        }

        var types = request.Types.Keys.ToList();
        var first = (int)((uint)Interlocked.Increment(ref s_rotation) % (uint)queues.Count);
        for (var i = 0; i < queues.Count; i++)
        {
            var want = request.Max - alreadyTaken - picked.Count;
            if (want <= 0)
            {
                break;
            }

            var queue = queues[(first + i) % queues.Count];
            picked.AddRange(await QueueFlow.PickAsync(session, queue, types, request.Now, want, job => ClaimOrder.Allows(request, takenByType, job),
                ClaimOrder.MayRefuse(request, takenByType, want), skip, cancellationToken, pending).ConfigureAwait(false));
        }

        return picked;
    }
}
