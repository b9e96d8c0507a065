namespace Jobkeeper.Storage;

/// <summary>
/// What one instance saw of one worker: when last, and what it claimed, completed and failed in the five minutes before
/// <see cref="RecordedAt"/>. Each instance stores its own row per worker (an HTTP worker's calls may reach several), so
/// the sums over instances count every call once.
/// </summary>
/// <param name="Kind"><c>in_process</c> (an instance's handlers) or <c>http</c> (a worker calling the API).</param>
public sealed record WorkerSeen(string WorkerId, string Instance, string Kind, DateTimeOffset LastSeen, DateTimeOffset RecordedAt,
    long ClaimedLast5Minutes, long CompletedLast5Minutes, long FailedLast5Minutes);
