using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using System.Text.Json.Serialization;
using Jobkeeper.Model;

namespace Jobkeeper.Contracts;

/// <summary>The body of <c>POST /api/v1/jobs/{id}/prompt/response</c>.</summary>
[Description("The answer to a waiting job's open prompt.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record AnswerPromptRequest
{
    [Description("One of the prompt's options, or JSON that satisfies its schema.")]
    public required JsonElement Answer { get; init; }

    [Description("How sure the one answering is, from 0 to 1.")]
    [Range(0.0, 1.0)]
    public double? Confidence { get; init; }

    [Description("Who answered (defaults to the X-Actor header). Behind API keys the key's name is recorded as who answered, and this only as `answered_by_display_name` beside it.")]
    [StringLength(JobLimits.MaxActorNameLength)]
    public string? AnsweredBy { get; init; }

    [Description("Why this answer; defaults to the X-Reason header.")]
    [StringLength(JobLimits.MaxTextLength)]
    public string? Reason { get; init; }

    [Description("The prompt's key, to make sure the answer goes to the question it was meant for.")]
    [StringLength(JobLimits.MaxPromptKeyLength)]
    public string? Key { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/prompt</c> (an external worker asks).</summary>
[Description("A question an external worker asks; the job waits for the answer (its lease ends).")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record AskPromptRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }

    [Description("Names the question within the job; asking an answered key again returns its answer.")]
    [StringLength(JobLimits.MaxPromptKeyLength, MinimumLength = 1)]
    public required string Key { get; init; }

    [Description("What to ask.")]
    [StringLength(JobLimits.MaxQuestionLength, MinimumLength = 1)]
    public required string Question { get; init; }

    [Description("The answers to choose from (or give `schema`).")]
    [MaxLength(JobLimits.MaxPromptOptions)]
    public IReadOnlyList<string>? Options { get; init; }

    [Description("A JSON Schema the answer must satisfy (or give `options`).")]
    public JsonElement? Schema { get; init; }

    [Description("Seconds until the prompt expires (at most a year); no expiry when absent.")]
    [Range(0.0, JobLimits.MaxPromptExpirySeconds, MinimumIsExclusive = true)]
    public double? ExpiresInSeconds { get; init; }

    [Description("What expiry does: `fail` (default) fails the job, `default` answers with `default_answer`.")]
    [RegularExpression("^(fail|default)$")]
    public string? OnExpiry { get; init; }

    [Description("The answer used when the prompt expires with `on_expiry` `default`.")]
    public JsonElement? DefaultAnswer { get; init; }
}

/// <summary>The body of <c>POST /api/v1/jobs/{id}/checkpoint</c>.</summary>
[Description("Small JSON state saved on the job under the lease, so work before a question is not redone.")]
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record CheckpointRequest
{
    [Description("The `lease_token` of the claimed work item.")]
    public required string LeaseToken { get; init; }

    [Description("Any JSON: the worker's state.")]
    public JsonElement? State { get; init; }
}
