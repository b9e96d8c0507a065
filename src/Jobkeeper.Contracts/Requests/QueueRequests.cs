using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Jobkeeper.Model;

namespace Jobkeeper.Contracts;

/// <summary>The body of <c>PATCH /api/v1/queues/{name}</c>: a JSON merge patch of the settings.</summary>
[Description("A JSON merge patch of a queue's settings: absent members stay as they are; `null` clears a limit. Unknown members are refused.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record UpdateQueueRequest
{
    [Description("At most this many running at once over all instances; null removes the limit.")]
    [Range(1, QueueLimits.MaxLimit)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<int?> ConcurrencyLimit { get; init; }

    [Description("Partitions the queue by `type` or `label:<name>`, with at most `limit` running per key; null removes it.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<QueuePartition?> Partition { get; init; }

    [Description("At most `count` started per `period_seconds`; null removes it.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<QueueRateLimit?> RateLimit { get; init; }
}

/// <summary>The body of <c>POST /api/v1/queues/{name}/pause</c> and <c>…/resume</c> (optional).</summary>
[Description("Pauses or resumes the whole queue, or with `type` one job type in it.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PauseQueueRequest
{
    [Description("Only this job type in the queue; absent: the whole queue.")]
    [StringLength(JobLimits.MaxTypeLength, MinimumLength = 1)]
    public string? Type { get; init; }
}
