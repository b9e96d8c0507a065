using Jobkeeper.Contracts;
using Jobkeeper.Json;

namespace Jobkeeper.Client;

/// <summary>The queue routes: settings (limits, partitions, rate limits, pause) and state at a glance.</summary>
public sealed partial class JobkeeperClient
{
    /// <summary>Every queue with jobs or settings (<c>GET /api/v1/queues</c>).</summary>
    public async Task<IReadOnlyList<QueueInfo>> ListQueuesAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(Api + "queues", cancellationToken).ConfigureAwait(false);
        return (await ReadAsync(response, JobkeeperJsonContext.Default.QueueListResponse, cancellationToken).ConfigureAwait(false)).Items;
    }

    /// <summary>One queue; an unknown one throws <see cref="JobkeeperApiException"/> (404).</summary>
    public async Task<QueueInfo> GetQueueAsync(string name, CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(QueuePath(name), cancellationToken).ConfigureAwait(false);
        return await ReadAsync(response, JobkeeperJsonContext.Default.QueueInfo, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Changes a queue's settings (a merge patch: members given replace, null removes a limit).</summary>
    public Task<QueueInfo> UpdateQueueAsync(string name, UpdateQueueRequest patch, string? actor = null, string? reason = null,
        CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Patch, QueuePath(name), patch, JobkeeperJsonContext.Default.UpdateQueueRequest, JobkeeperJsonContext.Default.QueueInfo,
            cancellationToken, actor, reason);

    /// <summary>Pauses the queue, or only <paramref name="type"/> in it: once this returns no instance claims its jobs.</summary>
    public Task<QueueInfo> PauseQueueAsync(string name, string? type = null, string? actor = null, string? reason = null,
        CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, QueuePath(name) + "/pause", new PauseQueueRequest { Type = type }, JobkeeperJsonContext.Default.PauseQueueRequest,
            JobkeeperJsonContext.Default.QueueInfo, cancellationToken, actor, reason);

    /// <summary>Resumes the queue, or only <paramref name="type"/> in it; waiting workers wake at once.</summary>
    public Task<QueueInfo> ResumeQueueAsync(string name, string? type = null, string? actor = null, string? reason = null,
        CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, QueuePath(name) + "/resume", new PauseQueueRequest { Type = type }, JobkeeperJsonContext.Default.PauseQueueRequest,
            JobkeeperJsonContext.Default.QueueInfo, cancellationToken, actor, reason);

    private static string QueuePath(string name) => Api + "queues/" + Uri.EscapeDataString(name);
}
