using System.Text.Json;
using Jobkeeper.Json;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Sqlite;

/// <summary>How a job maps to the <c>jobs</c> columns, both ways. The one place that knows the column order.</summary>
internal static class SqliteJobColumns
{
    public const string SelectList =
        "j.id, j.type, j.status, j.priority, j.input, j.labels, j.progress, j.result, j.error, j.attempt, j.max_attempts, " +
        "j.created_us, j.updated_us, j.started_us, j.completed_us, j.run_at_us, j.lease_owner, j.lease_expires_us, j.lease_token, j.version, " +
        "j.cancel_requested_us, j.prompts, j.checkpoint";

    // Set once at creation and never changed: an update leaves them (and their indexes) alone.
    private static readonly string[] ImmutableColumns = ["id", "type", "priority", "input", "created_us"];

    // The columns a change may touch, labels excepted (they change rarely and have a table of their own).
    private static readonly string[] StateColumns =
    [
        "status", "progress", "result", "error", "attempt", "max_attempts", "updated_us", "started_us", "completed_us",
        "run_at_us", "lease_owner", "lease_expires_us", "lease_token", "cancel_requested_us", "version",
        "prompts", "checkpoint", "prompt_expires_us",
    ];

    public static string InsertColumns { get; } = string.Join(", ", [.. ImmutableColumns, "labels", .. StateColumns]);

    public static string InsertValues { get; } = string.Join(", ", ((string[])[.. ImmutableColumns, "labels", .. StateColumns]).Select(c => "$" + c));

    /// <summary><c>SET</c> list of an update; with labels when they changed.</summary>
    public static string UpdateAssignments(bool withLabels) =>
        string.Join(", ", (withLabels ? ["labels", .. StateColumns] : StateColumns).Select(c => $"{c} = ${c}"));

    /// <summary>Parameter names of the insert, in the order of <see cref="ToInsertValues"/>.</summary>
    public static IReadOnlyList<string> InsertParameters { get; } = [.. ((string[])[.. ImmutableColumns, "labels", .. StateColumns]).Select(c => "$" + c)];

    /// <summary>Parameter names of an update, in the order of <see cref="ToStateValues"/>.</summary>
    public static IReadOnlyList<string> UpdateParameters(bool withLabels) =>
        [.. (withLabels ? ["labels", .. StateColumns] : StateColumns).Select(c => "$" + c)];

    /// <summary>Insert values of a job, computed off the writer (JSON serialised by the caller's thread).</summary>
    public static object[] ToInsertValues(Job job) =>
    [
        job.Id,
        job.Type,
        job.Priority,
        Json(job.Input),
        TimeMicros.From(job.CreatedAt),
        Labels(job),
        .. ToStateValues(job, withLabels: false),
    ];

    /// <summary>Update values: the state columns, after the labels when they changed.</summary>
    public static object[] ToStateValues(Job job, bool withLabels)
    {
        object[] state =
        [
            job.Status.ToName(),
            job.Progress is null ? DBNull.Value : JsonSerializer.Serialize(job.Progress, CoreJsonContext.Default.JobProgress),
            Json(job.Result),
            job.Error is null ? DBNull.Value : JsonSerializer.Serialize(job.Error, CoreJsonContext.Default.JobError),
            job.Attempt,
            job.MaxAttempts,
            TimeMicros.From(job.UpdatedAt),
            Micros(job.StartedAt),
            Micros(job.CompletedAt),
            TimeMicros.From(job.RunAt),
            (object?)job.LeaseOwner ?? DBNull.Value,
            Micros(job.LeaseExpiresAt),
            (object?)job.LeaseToken ?? DBNull.Value,
            Micros(job.CancelRequestedAt),
            job.Version,
            job.Prompts.Count == 0 ? DBNull.Value : JsonSerializer.Serialize(job.Prompts, CoreJsonContext.Default.IReadOnlyListJobPrompt),
            Json(job.Checkpoint),
            Micros(job.OpenPrompt?.ExpiresAt),
        ];
        return withLabels ? [Labels(job), .. state] : state;
    }

    public static Job Read(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        Type = r.GetString(1),
        Status = JobStatusNames.TryParse(r.GetString(2), out var status)
            ? status
            : throw new InvalidDataException($"Unknown status '{r.GetString(2)}' in the jobs table."),
        Priority = r.GetInt32(3),
        Input = ReadJson(r, 4),
        Labels = r.IsDBNull(5)
            ? Job.EmptyLabels
            : JsonSerializer.Deserialize(r.GetString(5), CoreJsonContext.Default.DictionaryStringString) ?? Job.EmptyLabels,
        Progress = r.IsDBNull(6) ? null : JsonSerializer.Deserialize(r.GetString(6), CoreJsonContext.Default.JobProgress),
        Result = ReadJson(r, 7),
        Error = r.IsDBNull(8) ? null : JsonSerializer.Deserialize(r.GetString(8), CoreJsonContext.Default.JobError),
        Attempt = r.GetInt32(9),
        MaxAttempts = r.GetInt32(10),
        CreatedAt = TimeMicros.ToTimestamp(r.GetInt64(11)),
        UpdatedAt = TimeMicros.ToTimestamp(r.GetInt64(12)),
        StartedAt = ReadTime(r, 13),
        CompletedAt = ReadTime(r, 14),
        RunAt = TimeMicros.ToTimestamp(r.GetInt64(15)),
        LeaseOwner = r.IsDBNull(16) ? null : r.GetString(16),
        LeaseExpiresAt = ReadTime(r, 17),
        LeaseToken = r.IsDBNull(18) ? null : r.GetString(18),
        Version = r.GetInt64(19),
        CancelRequestedAt = ReadTime(r, 20),
        Prompts = r.IsDBNull(21) ? [] : JsonSerializer.Deserialize(r.GetString(21), CoreJsonContext.Default.IReadOnlyListJobPrompt) ?? [],
        Checkpoint = ReadJson(r, 22),
    };

    public static object Json(JsonElement? value) =>
        value is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } element ? element.GetRawText() : DBNull.Value;

    public static JsonElement? ReadJson(SqliteDataReader r, int ordinal) =>
        r.IsDBNull(ordinal) ? null : JsonSerializer.Deserialize(r.GetString(ordinal), CoreJsonContext.Default.JsonElement);

    private static object Labels(Job job) =>
        job.Labels.Count == 0 ? DBNull.Value : JsonSerializer.Serialize(job.Labels, CoreJsonContext.Default.IReadOnlyDictionaryStringString);

    private static DateTimeOffset? ReadTime(SqliteDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : TimeMicros.ToTimestamp(r.GetInt64(ordinal));

    private static object Micros(DateTimeOffset? value) => value is { } v ? TimeMicros.From(v) : DBNull.Value;
}
