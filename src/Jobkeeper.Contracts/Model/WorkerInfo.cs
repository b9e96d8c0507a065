using System.ComponentModel;
using System.Text.Json.Serialization;

namespace Jobkeeper.Model;

/// <summary>One worker as <c>GET /api/v1/workers</c> shows it: an instance's in-process handlers, or an HTTP worker by its worker id.</summary>
[Description("A worker seen in the last minutes, or one that still holds jobs: what it holds, when it was last heard from (a claim or any call under a lease), and what it did per minute over the last five.")]
public sealed record WorkerInfo
{
    /// <summary>The worker id: an HTTP worker's <c>worker_id</c>, or the instance's <c>Workers:WorkerId</c> for its handlers.</summary>
    [Description("An HTTP worker's `worker_id`, or an instance's `Workers:WorkerId` for its in-process handlers.")]
    public required string WorkerId { get; init; }

    [Description("`in_process` (an instance's handlers) or `http` (a worker calling the API).")]
    public required string Kind { get; init; }

    [Description("When any instance last heard from it; null for a worker that holds jobs but was not heard from in the window.")]
    public DateTimeOffset? LastSeenAt { get; init; }

    [Description("How many instances heard from it in the window.")]
    public required int Instances { get; init; }

    [Description("How many running jobs it holds a lease on.")]
    public required int Running { get; init; }

    [Description("The running jobs it holds (at most 50), soonest lease expiry first.")]
    public required IReadOnlyList<WorkerJob> Jobs { get; init; }

    [Description("Jobs it claimed in the last five minutes.")]
    [JsonPropertyName("claimed_last_5_minutes")]
    public required long ClaimedLast5Minutes { get; init; }

    [Description("Attempts it completed in the last five minutes.")]
    [JsonPropertyName("completed_last_5_minutes")]
    public required long CompletedLast5Minutes { get; init; }

    [Description("Attempts it failed in the last five minutes.")]
    [JsonPropertyName("failed_last_5_minutes")]
    public required long FailedLast5Minutes { get; init; }

    [Description("Completed per minute over the last five minutes.")]
    public required double CompletedPerMinute { get; init; }
}

/// <summary>A running job a worker holds.</summary>
[Description("A running job a worker holds a lease on.")]
public sealed record WorkerJob(string Id, string Type, string Queue, DateTimeOffset? StartedAt, DateTimeOffset? LeaseExpiresAt);
