using System.Threading.Channels;

namespace Jobkeeper.Storage;

/// <summary>A write waiting for a store's group-committing writer.</summary>
public interface IGroupCommitWrite
{
    /// <summary>A large write (a cleanup batch, a delete) that gets a transaction of its own.</summary>
    bool IsBulk { get; }
}

/// <summary>What group-committing writers of every store share: how a batch is taken from the queue.</summary>
public static class GroupCommit
{
    /// <summary>
    /// Takes what is queued, up to <paramref name="maxBatch"/>, into <paramref name="batch"/>. A bulk write gets a
    /// transaction of its own, so the small writes queued beside it are answered first instead of waiting for it.
    /// Returns the bulk write to start the next batch with, if one had to wait.
    /// </summary>
    public static T? Fill<T>(List<T> batch, T? carried, ChannelReader<T> reader, int maxBatch)
        where T : class, IGroupCommitWrite
    {
        batch.Clear();
        if (carried is not null)
        {
            batch.Add(carried);
            if (carried.IsBulk)
            {
                return null;
            }
        }

        while (batch.Count < maxBatch && reader.TryRead(out var write))
        {
            if (write.IsBulk)
            {
                if (batch.Count > 0)
                {
                    return write;
                }

                batch.Add(write);
                return null;
            }

            batch.Add(write);
        }

        return null;
    }

    /// <summary>The order claims take due jobs in: highest priority first, then earliest <c>run_at</c>, then id.</summary>
    public static readonly Comparison<Model.Job> ClaimOrder = (a, b) =>
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
