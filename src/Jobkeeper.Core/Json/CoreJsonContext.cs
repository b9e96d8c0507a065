using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jobkeeper.Model;

// System.Text.Json generates this context's JsonTypeInfo properties nullable-oblivious; they cannot be annotated.
[assembly: SuppressMessage("ApiDesign", "RS0041", Scope = "type", Target = "~T:Jobkeeper.Json.CoreJsonContext")]

namespace Jobkeeper.Json;

/// <summary>Source-generated JSON for the model: snake_case, UTC timestamps, nulls omitted.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(Job))]
[JsonSerializable(typeof(JobEvent))]
[JsonSerializable(typeof(IReadOnlyList<JobEvent>))]
[JsonSerializable(typeof(JobProgress))]
[JsonSerializable(typeof(JobError))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(StatusChange))]
[JsonSerializable(typeof(StageChange))]
[JsonSerializable(typeof(LeaseChange))]
[JsonSerializable(typeof(JobPrompt))]
[JsonSerializable(typeof(IReadOnlyList<JobPrompt>))]
[JsonSerializable(typeof(List<JobPrompt>))]
[JsonSerializable(typeof(IReadOnlyList<string>))]
[JsonSerializable(typeof(ExceptionDetails))]
[JsonSerializable(typeof(UpdatedFields))]
[JsonSerializable(typeof(DebounceData))]
[JsonSerializable(typeof(Schedule))]
public sealed partial class CoreJsonContext : JsonSerializerContext;

/// <summary>Data of a <c>status_changed</c> event: the move, and for worker moves why, which attempt and by whom.</summary>
public sealed record StatusChange(JobStatus From, JobStatus To)
{
    public string? Reason { get; init; }
    public int? Attempt { get; init; }
    public string? Worker { get; init; }
    public DateTimeOffset? RunAt { get; init; }
    public JobError? Error { get; init; }
}

/// <summary>Data of a <c>lease_expired</c>, <c>released</c> or <c>cancel_requested</c> event.</summary>
public sealed record LeaseChange(string? Worker, int Attempt, DateTimeOffset? LeaseExpiresAt);

/// <summary>Data of a <c>debounced</c> event: when the job now runs (its input was replaced too).</summary>
public sealed record DebounceData(DateTimeOffset RunAt);

/// <summary>Data of a <c>stage_changed</c> event.</summary>
public sealed record StageChange(string? From, string? To);

/// <summary>Data of an <c>updated</c> event: which fields a change touched, and the progress it reported.</summary>
public sealed record UpdatedFields(IReadOnlyList<string> Fields, JobProgress? Progress);

/// <summary><c>error.details</c> of a handler's exception: its type, a trimmed stack, and the inner exception in one line.</summary>
public sealed record ExceptionDetails(string ExceptionType, string? Stack)
{
    public string? Inner { get; init; }
}
