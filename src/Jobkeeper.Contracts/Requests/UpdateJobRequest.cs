using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jobkeeper.Model;

namespace Jobkeeper.Contracts;

/// <summary>The body of <c>PATCH /api/v1/jobs/{id}</c>: a JSON merge patch, so an absent member differs from a null one.</summary>
[Description("A JSON merge patch of the job: absent members stay as they are; `null` clears. Unknown members are refused.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record UpdateJobRequest
{
    [Description("The new status; only the moves of the state machine are allowed (409 otherwise).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<JobStatus?> Status { get; init; }

    [Description("Members merge into the current progress; null clears a member, and a null `progress` clears them all.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<ProgressUpdate?> Progress { get; init; }

    [Description("Any JSON; replaces the result (null clears it).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<JsonElement?> Result { get; init; }

    [Description("Replaces the error (null clears it).")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<JobErrorInput?> Error { get; init; }

    [Description("Merged into the current labels; a null value removes that label.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<IReadOnlyDictionary<string, string?>?> Labels { get; init; }

    /// <summary>
    /// The lease of a running job from now. Without it, setting a job running gives it the app-driven default (30 min)
    /// and any update renews it for its length.
    /// </summary>
    [Description("The lease of a running job from now, in seconds: how long it may go without an update before it is recovered. "
        + "Without it, setting a job running gives it the default (30 min) and any update renews it for its length.")]
    [Range(1, JobLimits.MaxAppLeaseSeconds)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<int?> LeaseSeconds { get; init; }
}

/// <summary>Progress members to merge into a job's progress; a member given as null clears it.</summary>
[Description("Progress members; each one given replaces that member, null clears it, absent ones stay.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public record ProgressUpdate
{
    [Description("How far along, from 0 to 1.")]
    [Range(0.0, 1.0)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<double?> Fraction { get; init; }

    [Description("The step the job is in, e.g. \"encode\".")]
    [StringLength(JobLimits.MaxTypeLength)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<string?> Stage { get; init; }

    [Description("A line for people watching.")]
    [StringLength(JobLimits.MaxTextLength)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<string?> Message { get; init; }

    [Description("Items done so far.")]
    [Range(0, long.MaxValue)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<long?> Current { get; init; }

    [Description("Items in all.")]
    [Range(0, long.MaxValue)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public Optional<long?> Total { get; init; }
}

/// <summary>An error as a request gives it (a patch, a worker's fail).</summary>
[Description("What went wrong: a message, an optional machine code and any JSON details.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record JobErrorInput
{
    [Description("What went wrong, for people.")]
    [MinLength(1)]
    public required string Message { get; init; }

    [Description("A machine-readable code, e.g. \"timeout\".")]
    public string? Code { get; init; }

    [Description("Any JSON: the details.")]
    public JsonElement? Details { get; init; }

    public JobError ToError() => new() { Message = Message, Code = Code, Details = Details };
}
