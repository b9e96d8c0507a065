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
        "j.created_us, j.updated_us, j.started_us, j.completed_us, j.run_at_us, j.lease_owner, j.lease_expires_us, j.lease_token, j.version";

    public const string InsertColumns =
        "id, type, status, priority, input, labels, progress, result, error, attempt, max_attempts, " +
        "created_us, updated_us, started_us, completed_us, run_at_us, lease_owner, lease_expires_us, lease_token, version";

    public const string InsertValues =
        "$id, $type, $status, $priority, $input, $labels, $progress, $result, $error, $attempt, $max_attempts, " +
        "$created_us, $updated_us, $started_us, $completed_us, $run_at_us, $lease_owner, $lease_expires_us, $lease_token, $version";

    public const string UpdateAssignments =
        "type = $type, status = $status, priority = $priority, input = $input, labels = $labels, progress = $progress, " +
        "result = $result, error = $error, attempt = $attempt, max_attempts = $max_attempts, created_us = $created_us, " +
        "updated_us = $updated_us, started_us = $started_us, completed_us = $completed_us, run_at_us = $run_at_us, " +
        "lease_owner = $lease_owner, lease_expires_us = $lease_expires_us, lease_token = $lease_token, version = $version";

    private static readonly string[] ParameterNames =
    [
        "$id", "$type", "$status", "$priority", "$input", "$labels", "$progress", "$result", "$error", "$attempt", "$max_attempts",
        "$created_us", "$updated_us", "$started_us", "$completed_us", "$run_at_us", "$lease_owner", "$lease_expires_us", "$lease_token", "$version",
    ];

    public static void AddParameters(SqliteCommand command)
    {
        foreach (var name in ParameterNames)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
    }

    /// <summary>Column values of a job, computed off the writer (JSON serialised by the caller's thread).</summary>
    public static object[] ToValues(Job job) =>
    [
        job.Id,
        job.Type,
        job.Status.ToName(),
        job.Priority,
        Json(job.Input),
        job.Labels.Count == 0 ? DBNull.Value : JsonSerializer.Serialize(job.Labels, CoreJsonContext.Default.IReadOnlyDictionaryStringString),
        job.Progress is null ? DBNull.Value : JsonSerializer.Serialize(job.Progress, CoreJsonContext.Default.JobProgress),
        Json(job.Result),
        job.Error is null ? DBNull.Value : JsonSerializer.Serialize(job.Error, CoreJsonContext.Default.JobError),
        job.Attempt,
        job.MaxAttempts,
        TimeMicros.From(job.CreatedAt),
        TimeMicros.From(job.UpdatedAt),
        Micros(job.StartedAt),
        Micros(job.CompletedAt),
        TimeMicros.From(job.RunAt),
        (object?)job.LeaseOwner ?? DBNull.Value,
        Micros(job.LeaseExpiresAt),
        (object?)job.LeaseToken ?? DBNull.Value,
        job.Version,
    ];

    public static void Bind(SqliteCommand command, object[] values)
    {
        var parameters = command.Parameters;
        for (var i = 0; i < values.Length; i++)
        {
            parameters[i].Value = values[i];
        }
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
        StartedAt = r.IsDBNull(13) ? null : TimeMicros.ToTimestamp(r.GetInt64(13)),
        CompletedAt = r.IsDBNull(14) ? null : TimeMicros.ToTimestamp(r.GetInt64(14)),
        RunAt = TimeMicros.ToTimestamp(r.GetInt64(15)),
        LeaseOwner = r.IsDBNull(16) ? null : r.GetString(16),
        LeaseExpiresAt = r.IsDBNull(17) ? null : TimeMicros.ToTimestamp(r.GetInt64(17)),
        LeaseToken = r.IsDBNull(18) ? null : r.GetString(18),
        Version = r.GetInt64(19),
    };

    public static object Json(JsonElement? value) =>
        value is { ValueKind: not JsonValueKind.Null and not JsonValueKind.Undefined } element ? element.GetRawText() : DBNull.Value;

    public static JsonElement? ReadJson(SqliteDataReader r, int ordinal) =>
        r.IsDBNull(ordinal) ? null : JsonSerializer.Deserialize(r.GetString(ordinal), CoreJsonContext.Default.JsonElement);

    private static object Micros(DateTimeOffset? value) => value is { } v ? TimeMicros.From(v) : DBNull.Value;
}
