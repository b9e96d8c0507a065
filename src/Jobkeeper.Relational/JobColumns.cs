using System.Data.Common;
using System.Text.Json;
using Jobkeeper.Json;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational;

/// <summary>
/// How a job maps to the columns of a <c>jobs</c> table, both ways, for every SQL store: timestamps as
/// whole microseconds, JSON as text, absent values as <see cref="DBNull"/>. The one place that knows the
/// column order; stores only add their dialect's SQL around it.
/// </summary>
internal static class JobColumns
{
    /// <summary>The columns read back into a job, in the order <see cref="Read"/> expects.</summary>
    public static IReadOnlyList<string> Selected { get; } =
    [
        "id", "type", "status", "priority", "input", "labels", "progress", "result", "error", "attempt", "max_attempts",
        "created_us", "updated_us", "started_us", "completed_us", "run_at_us", "lease_owner", "lease_expires_us", "lease_token", "version",
        "cancel_requested_us", "prompts", "checkpoint", "lease_us", "traceparent", "queue", "unique_key",
    ];

    /// <summary>Set once at creation and never changed: an update leaves them (and their indexes) alone.</summary>
    public static IReadOnlyList<string> Immutable { get; } = ["id", "type", "priority", "input", "created_us", "traceparent", "queue", "unique_key"];

    /// <summary>The columns a change may touch, labels excepted (they change rarely and have a table of their own).</summary>
    public static IReadOnlyList<string> State { get; } =
    [
        "status", "progress", "result", "error", "attempt", "max_attempts", "updated_us", "started_us", "completed_us",
        "run_at_us", "lease_owner", "lease_expires_us", "lease_token", "cancel_requested_us", "version",
        "prompts", "checkpoint", "prompt_expires_us", "lease_us",
    ];

    /// <summary>The columns of an insert, in the order of <see cref="ToInsertValues"/>.</summary>
    public static IReadOnlyList<string> Inserted { get; } = [.. Immutable, "labels", .. State];

    /// <summary>The columns of an update, in the order of <see cref="ToStateValues"/>.</summary>
    public static IReadOnlyList<string> Updated(bool withLabels) => withLabels ? [ "labels", .. State ] : State;

    /// <summary>Comma-separated <see cref="Selected"/>, each with <paramref name="alias"/> in front.</summary>
    public static string SelectList(string alias) => string.Join(", ", Selected.Select(c => $"{alias}.{c}"));

    /// <summary>Insert values of a job, computed off the writer (JSON serialised by the caller's thread).</summary>
    public static object[] ToInsertValues(Job job) =>
    [
        job.Id,
        job.Type,
        job.Priority,
        Json(job.Input),
        TimeMicros.From(job.CreatedAt),
        (object?)job.Traceparent ?? DBNull.Value,
        job.Queue,
        (object?)job.UniqueKey ?? DBNull.Value,
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
            job.LeaseDuration is { } lease ? (long)(lease.Ticks / TimeSpan.TicksPerMicrosecond) : DBNull.Value,
        ];
        return withLabels ? [Labels(job), .. state] : state;
    }

    /// <summary>Reads a job from the <see cref="Selected"/> columns, starting at ordinal 0.</summary>
    public static Job Read(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        Type = r.GetString(1),
        Status = ReadStatus(r, 2),
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
        LeaseDuration = r.IsDBNull(23) ? null : TimeSpan.FromMicroseconds(r.GetInt64(23)),
        Traceparent = r.IsDBNull(24) ? null : r.GetString(24),
        Queue = r.GetString(25),
        UniqueKey = r.IsDBNull(26) ? null : r.GetString(26),
    };

    /// <summary>The columns of an event read back, in the order <see cref="ReadEvent"/> expects.</summary>
    public static IReadOnlyList<string> EventSelected { get; } = ["id", "job_id", "type", "at_us", "actor", "version", "data", "display_name", "reason"];

    /// <summary>How many columns <see cref="ReadEvent"/> reads; a query selecting more puts them after these.</summary>
    public static int EventColumnCount => EventSelected.Count;

    /// <summary>Comma-separated <see cref="EventSelected"/>, each with <paramref name="alias"/> in front.</summary>
    public static string EventSelectList(string alias) => string.Join(", ", EventSelected.Select(c => $"{alias}.{c}"));

    /// <summary>Reads an event from the <see cref="EventSelected"/> columns, starting at ordinal 0.</summary>
    public static JobEvent ReadEvent(DbDataReader r) => new()
    {
        Id = r.GetInt64(0),
        JobId = r.GetString(1),
        Type = r.GetString(2),
        At = TimeMicros.ToTimestamp(r.GetInt64(3)),
        Actor = r.IsDBNull(4) ? null : r.GetString(4),
        Version = r.GetInt64(5),
        Data = ReadJson(r, 6),
        DisplayName = r.IsDBNull(7) ? null : r.GetString(7),
        Reason = r.IsDBNull(8) ? null : r.GetString(8),
    };

    public static JobStatus ReadStatus(DbDataReader r, int ordinal) =>
        JobStatusNames.TryParse(r.GetString(ordinal), out var status)
            ? status
            : throw new InvalidDataException($"Unknown status '{r.GetString(ordinal)}' in the jobs table.");

    public static object Json(JsonElement? value) =>
        value is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } element ? element.GetRawText() : DBNull.Value;

    public static JsonElement? ReadJson(DbDataReader r, int ordinal) =>
        r.IsDBNull(ordinal) ? null : JsonSerializer.Deserialize(r.GetString(ordinal), CoreJsonContext.Default.JsonElement);

    private static object Labels(Job job) =>
        job.Labels.Count == 0 ? DBNull.Value : JsonSerializer.Serialize(job.Labels, CoreJsonContext.Default.IReadOnlyDictionaryStringString);

    private static DateTimeOffset? ReadTime(DbDataReader r, int ordinal) => r.IsDBNull(ordinal) ? null : TimeMicros.ToTimestamp(r.GetInt64(ordinal));

    private static object Micros(DateTimeOffset? value) => value is { } v ? TimeMicros.From(v) : DBNull.Value;
}
