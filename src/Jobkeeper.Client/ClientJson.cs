using System.Text.Json;
using System.Text.Json.Serialization;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.Client;

/// <summary>Source-generated JSON for what the client sends and reads that is not the shared job model.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(NewJob))]
[JsonSerializable(typeof(Job))]
[JsonSerializable(typeof(JobPage))]
[JsonSerializable(typeof(EventPage))]
[JsonSerializable(typeof(ClaimBody))]
[JsonSerializable(typeof(ClaimPage))]
[JsonSerializable(typeof(LeaseBody))]
[JsonSerializable(typeof(LeaseResponse))]
[JsonSerializable(typeof(ProgressBody))]
[JsonSerializable(typeof(CompleteBody))]
[JsonSerializable(typeof(FailBody))]
[JsonSerializable(typeof(AnswerBody))]
[JsonSerializable(typeof(CleanupOutcome))]
[JsonSerializable(typeof(StreamEvent))]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(string))]
internal sealed partial class ClientJson : JsonSerializerContext;

internal sealed record JobPage(IReadOnlyList<Job> Items, string? NextCursor);

internal sealed record EventPage(IReadOnlyList<JobEvent> Items, long? NextAfter);

internal sealed record ClaimBody(string WorkerId, IReadOnlyList<string> Types, int Max, int LeaseSeconds, double WaitSeconds);

internal sealed record ClaimPage(IReadOnlyList<WorkItem> Jobs);

internal sealed record LeaseBody(string LeaseToken, int? LeaseSeconds);

internal sealed record ProgressBody(string LeaseToken, int? LeaseSeconds, double? Fraction, string? Stage, string? Message, long? Current, long? Total);

internal sealed record CompleteBody(string LeaseToken, JsonElement? Result);

internal sealed record FailBody(string LeaseToken, JobError Error, bool Retry);

internal sealed record AnswerBody(JsonElement Answer, double? Confidence, string? AnsweredBy, string? Reason, string? Key);

internal sealed record Problem(string? Type, string? Title, int? Status, string? Detail);

/// <summary>What a cleanup did.</summary>
public sealed record CleanupOutcome(int DeletedCount, int RetentionDays, string Message);
