using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Jobkeeper.Model;

/// <summary>
/// What a caller gives to create a job; everything but <see cref="Type"/> is optional. It is also the body of
/// <c>POST /api/v1/jobs</c>, where unknown members are refused.
/// </summary>
[Description("A new job. Unknown members are refused.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record NewJob
{
    [Description("The kind of work, e.g. \"audio.analyze\"; workers claim jobs by type.")]
    [StringLength(JobLimits.MaxTypeLength, MinimumLength = 1)]
    public required string Type { get; init; }

    [Description("The queue the job waits in; `default` when absent. Workers may claim by queue, by type, or both.")]
    [StringLength(JobQueues.MaxLength, MinimumLength = 1)]
    [RegularExpression(JobQueues.Pattern)]
    public string? Queue { get; init; }

    /// <summary>Client-chosen id; a time-ordered UUIDv7 when absent.</summary>
    [Description("The job's id; a time-ordered UUIDv7 is generated when absent. A second create with the same id is refused (409).")]
    [StringLength(JobIds.MaxLength, MinimumLength = 1)]
    [RegularExpression(JobIds.Pattern)]
    public string? Id { get; init; }

    [Description("Any JSON the job works on, handed to its worker as it is.")]
    public JsonElement? Input { get; init; }

    [Description("Up to 64 string labels to filter by (`label=key:value`).")]
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    [Description("Higher runs first among due jobs; default 0.")]
    public int Priority { get; init; }

    [Description("Not claimed before this instant (ISO 8601); default now.")]
    public DateTimeOffset? RunAt { get; init; }

    [Description("How many attempts a worker gets before the job fails for good; default 3.")]
    [Range(1, JobLimits.MaxAttempts)]
    public int? MaxAttempts { get; init; }

    [Description("Makes the create idempotent: while a job with this key blocks (see `unique_window_seconds` and `unique_statuses`), " +
        "the create answers 200 with that job and the header `Jobkeeper-Existing: true` instead of adding another. " +
        "The key is global (put the type in it to scope it by type).")]
    [StringLength(JobLimits.MaxUniqueKeyLength, MinimumLength = 1)]
    public string? UniqueKey { get; init; }

    [Description("Only a job with the key created this many seconds ago or less blocks; absent: any such job blocks until it is finished " +
        "(or whatever `unique_statuses` says). Needs `unique_key`.")]
    [Range(0.0, JobLimits.MaxUniqueWindowSeconds, MinimumIsExclusive = true)]
    public double? UniqueWindowSeconds { get; init; }

    [Description("The statuses in which a job with the key blocks a new one; default the unfinished ones (`queued`, `running`, `waiting`). " +
        "Needs `unique_key`.")]
    public IReadOnlyList<JobStatus>? UniqueStatuses { get; init; }

    [Description("Collapses a burst: while a job with `unique_key` is still queued, this create replaces its input and moves its `run_at` " +
        "to this many seconds from now, instead of adding a job (answered 200, `Jobkeeper-Existing: true`). Otherwise it creates the job " +
        "to run that many seconds from now. Needs `unique_key`.")]
    [Range(0.0, JobLimits.MaxUniqueWindowSeconds, MinimumIsExclusive = true)]
    public double? DebounceSeconds { get; init; }

    /// <summary>
    /// This job with <paramref name="input"/> as its input: serialised with <paramref name="typeInfo"/> when given
    /// (source-generated JSON), else as the API and handlers write JSON by default (web defaults, snake_case names).
    /// </summary>
    public NewJob WithInput<T>(T input, JsonTypeInfo<T>? typeInfo = null) => WithInput(input, typeInfo, DefaultInputOptions);

    internal NewJob WithInput<T>(T input, JsonTypeInfo<T>? typeInfo, JsonSerializerOptions options) => this with
    {
        Input = typeInfo is null ? JsonSerializer.SerializeToElement(input, options) : JsonSerializer.SerializeToElement(input, typeInfo),
    };

    /// <summary>The same as the default of <c>JobWorkerOptions.SerializerOptions</c>, so a handler reads back what was written.</summary>
    internal static JsonSerializerOptions DefaultInputOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}
