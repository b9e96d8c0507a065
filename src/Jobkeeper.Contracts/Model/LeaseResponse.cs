namespace Jobkeeper.Model;

/// <summary>What heartbeat and progress return: the lease now, and whether the worker should stop because a cancel was requested.</summary>
public sealed record LeaseResponse(string Id, long Version, DateTimeOffset? LeaseExpiresAt, bool CancelRequested)
{
    public static LeaseResponse From(Job job) => new(job.Id, job.Version, job.LeaseExpiresAt, job.CancelRequestedAt is not null);
}
