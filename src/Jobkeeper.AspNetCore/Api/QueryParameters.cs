using System.Text.Json.Nodes;
using Jobkeeper.AspNetCore.OpenApi;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.OpenApi;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// What the hand parsers of the query string accept (<see cref="JobQueryParser"/>, cleanup, events, streams), stated
/// once for the API document from the same constants the parsers check.
/// </summary>
internal static class QueryParameters
{
    private static readonly string[] StatusNames = [.. Enum.GetValues<JobStatus>().Select(s => s.ToName())];

    private static QueryParameterMetadata Statuses(string what) => new("status",
        $"Only {what} in these statuses: comma-separated, or the parameter repeated.")
    {
        Type = JsonSchemaType.Array,
        Enum = StatusNames,
        ItemType = typeof(JobStatus),
        Example = new JsonArray("queued", "running"),
    };

    private static QueryParameterMetadata Type(string what) => new("type", $"Only {what} of this job type (exact match).")
    {
        MaxLength = JobLimits.MaxTypeLength,
        Example = "example.task",
    };

    private static QueryParameterMetadata ResumeAfter => new("after",
        "Resume after this event id (as `Last-Event-ID` does): first what was missed, then live events.")
    {
        Type = JsonSchemaType.Integer,
        Format = "int64",
        Minimum = 0,
        Example = 0,
    };

    public static readonly QueryParameterMetadata[] ListJobs =
    [
        Statuses("jobs"),
        Type("jobs"),
        new("queue", "Only jobs in this queue (exact match).")
        {
            MaxLength = JobQueues.MaxLength,
            Pattern = JobQueues.Pattern,
            Example = "default",
        },
        new("label", "Only jobs with this label, as `key:value`; repeat it and every one must match.")
        {
            Type = JsonSchemaType.Array,
            Pattern = "^[^:]+:.*$",
            Example = new JsonArray("episode_id:42"),
        },
        new("sort", "The order: `created`, `updated`, `priority` or `duration` (completed − started), with a leading `-` for descending; " +
            "default `-created` (newest first). Ties go by id. Send the same sort with a `cursor`.")
        {
            Pattern = "^-?(created|updated|priority|duration)$",
            Example = "-updated",
        },
        new("q", "Search: jobs whose id starts with this text, or whose type, labels, input, result and error contain all its words " +
            "(runs of letters and digits, any case; everything else only separates words, so no query syntax). At most 1000 characters.")
        {
            MaxLength = JobSearch.MaxLength,
            Example = "codec",
        },
        new("created_after", "Only jobs created at or after this instant (ISO 8601, inclusive).")
        {
            Format = "date-time",
            Example = "2026-01-01T00:00:00Z",
        },
        new("created_before", "Only jobs created before this instant (ISO 8601, exclusive).")
        {
            Format = "date-time",
            Example = "2100-01-01T00:00:00Z",
        },
        new("limit", $"Jobs per page, 1–{JobQuery.MaxLimit}; default {JobQuery.DefaultLimit}.")
        {
            Type = JsonSchemaType.Integer,
            Format = "int32",
            Minimum = 1,
            Maximum = JobQuery.MaxLimit,
            Default = JobQuery.DefaultLimit,
            Example = 20,
        },
        new("cursor", "The `next_cursor` of the previous page, unchanged (opaque); absent for the first page."),
    ];

    public static readonly QueryParameterMetadata[] Cleanup =
    [
        new("days", $"Delete finished jobs completed more than this many days ago, 0–{JobManager.MaxRetentionDays}; default from the server's settings (7).")
        {
            Type = JsonSchemaType.Integer,
            Format = "int32",
            Minimum = 0,
            Maximum = JobManager.MaxRetentionDays,
            Example = 30,
        },
    ];

    public static readonly QueryParameterMetadata[] Workers =
    [
        new("within_seconds", $"Workers heard from in this many seconds, 1–{JobManager.MaxWorkersWindow.TotalSeconds:0}; default 300. Workers holding running jobs are listed either way.")
        {
            Type = JsonSchemaType.Integer,
            Format = "int32",
            Minimum = 1,
            Maximum = (int)JobManager.MaxWorkersWindow.TotalSeconds,
            Default = 300,
            Example = 300,
        },
    ];

    public static readonly QueryParameterMetadata[] Events =
    [
        new("after", "Only events after this event id (the `next_after` of the previous page); default 0.")
        {
            Type = JsonSchemaType.Integer,
            Format = "int64",
            Minimum = 0,
            Maximum = int.MaxValue,
            Default = 0,
            Example = 0,
        },
        new("limit", $"Events per page, 1–{JobManager.MaxEventsLimit}; default 1000.")
        {
            Type = JsonSchemaType.Integer,
            Format = "int32",
            Minimum = 1,
            Maximum = JobManager.MaxEventsLimit,
            Default = 1000,
            Example = 100,
        },
    ];

    public static readonly QueryParameterMetadata[] StreamAll = [Type("events of jobs"), Statuses("events of jobs"), ResumeAfter];

    public static readonly QueryParameterMetadata[] StreamOneJob = [ResumeAfter];
}
