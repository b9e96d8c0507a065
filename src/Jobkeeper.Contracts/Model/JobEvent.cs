using System.Text.Json;

namespace Jobkeeper.Model;

/// <summary>One append-only history row of a job: the audit trail and the source of live updates.</summary>
public sealed record JobEvent
{
    /// <summary>Store-assigned sequence, increasing across all jobs; 0 until stored.</summary>
    public long Id { get; init; }
    public required string JobId { get; init; }
    public required string Type { get; init; }
    public required DateTimeOffset At { get; init; }
    /// <summary>Who made the change: with API keys the key's name, else the name the caller gave, a worker's id, or the app's default.</summary>
    public string? Actor { get; init; }
    /// <summary>The name the caller gave for themselves beside <see cref="Actor"/> (unverified; see <c>JobActor</c>).</summary>
    public string? DisplayName { get; init; }
    /// <summary>Why the change was asked for, in the caller's words (<c>X-Reason</c>, <c>--reason</c>).</summary>
    public string? Reason { get; init; }
    /// <summary>The job's version after the change that produced this event.</summary>
    public long Version { get; init; }
    public JsonElement? Data { get; init; }
}

/// <summary>The event type names written to the history.</summary>
public static class JobEventTypes
{
    public const string Created = "created";
    public const string StatusChanged = "status_changed";
    public const string StageChanged = "stage_changed";
    public const string Updated = "updated";
    /// <summary>A debounced create folded into this queued job: its input was replaced and its run_at moved.</summary>
    public const string Debounced = "debounced";
    public const string PromptAsked = "prompt_asked";
    public const string PromptAnswered = "prompt_answered";
    public const string Retried = "retried";
    public const string LeaseExpired = "lease_expired";
    public const string CancelRequested = "cancel_requested";
    public const string Released = "released";
    public const string PromptExpired = "prompt_expired";
}
