using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jobkeeper.Contracts;
using Jobkeeper.Model;

// System.Text.Json generates this context's JsonTypeInfo properties nullable-oblivious; they cannot be annotated.
[assembly: SuppressMessage("ApiDesign", "RS0041", Scope = "type", Target = "~T:Jobkeeper.Json.JobkeeperJsonContext")]

namespace Jobkeeper.Json;

/// <summary>
/// The wire format, for the server and every .NET client: snake_case, ISO 8601 UTC timestamps with microseconds,
/// every member written (null when empty) so readers see one stable shape, a member given twice refused, and request
/// bodies refusing members they do not know (their <c>[JsonUnmappedMemberHandling]</c>).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    AllowDuplicateProperties = false,
    Converters = [typeof(UtcTimestampConverter)])]
// Jobs and what comes with them.
[JsonSerializable(typeof(Job))]
[JsonSerializable(typeof(JobEvent))]
[JsonSerializable(typeof(JobPrompt))]
[JsonSerializable(typeof(WorkItem))]
[JsonSerializable(typeof(StreamEvent))]
[JsonSerializable(typeof(LeaseResponse))]
// Requests.
[JsonSerializable(typeof(NewJob))]
[JsonSerializable(typeof(BatchCreateRequest))]
[JsonSerializable(typeof(BulkActionRequest))]
[JsonSerializable(typeof(UpdateJobRequest))]
[JsonSerializable(typeof(ClaimJobsRequest))]
[JsonSerializable(typeof(LeaseRequest))]
[JsonSerializable(typeof(ProgressRequest))]
[JsonSerializable(typeof(CompleteRequest))]
[JsonSerializable(typeof(FailRequest))]
[JsonSerializable(typeof(AnswerPromptRequest))]
[JsonSerializable(typeof(AskPromptRequest))]
[JsonSerializable(typeof(CheckpointRequest))]
[JsonSerializable(typeof(UpdateQueueRequest))]
[JsonSerializable(typeof(PauseQueueRequest))]
[JsonSerializable(typeof(NewSchedule))]
[JsonSerializable(typeof(UpdateScheduleRequest))]
// Responses.
[JsonSerializable(typeof(JobListResponse))]
[JsonSerializable(typeof(BatchCreateResponse))]
[JsonSerializable(typeof(BulkActionResponse))]
[JsonSerializable(typeof(WorkerListResponse))]
[JsonSerializable(typeof(IReadOnlyList<WorkerInfo>))]
[JsonSerializable(typeof(JobEventListResponse))]
[JsonSerializable(typeof(CleanupResponse))]
[JsonSerializable(typeof(ClaimResponse))]
[JsonSerializable(typeof(PromptAskResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(QueueInfo))]
[JsonSerializable(typeof(QueueListResponse))]
[JsonSerializable(typeof(QueueSettings))]
[JsonSerializable(typeof(Schedule))]
[JsonSerializable(typeof(ScheduleListResponse))]
[JsonSerializable(typeof(ScheduleTriggerResponse))]
[JsonSerializable(typeof(ProblemResponse))]
// The values of Optional<T> members, which its converter reads on their own.
[JsonSerializable(typeof(JobStatus?))]
[JsonSerializable(typeof(ProgressUpdate))]
[JsonSerializable(typeof(JobErrorInput))]
[JsonSerializable(typeof(QueuePartition))]
[JsonSerializable(typeof(QueueRateLimit))]
[JsonSerializable(typeof(ScheduleJob))]
[JsonSerializable(typeof(bool?))]
[JsonSerializable(typeof(IReadOnlyDictionary<string, string?>))]
[JsonSerializable(typeof(JsonElement?))]
[JsonSerializable(typeof(double?))]
[JsonSerializable(typeof(long?))]
[JsonSerializable(typeof(int?))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class JobkeeperJsonContext : JsonSerializerContext;
