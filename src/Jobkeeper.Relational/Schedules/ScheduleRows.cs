using System.Data.Common;
using System.Text.Json;
using Jobkeeper.Json;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational.Schedules;

/// <summary>
/// How a schedule maps to a row of the <c>schedules</c> table, both ways, for both stores: what it is (timing, job,
/// policies) as one JSON <c>definition</c>, and what it did (paused, next and last fire, last job, skipped fires) in columns.
/// </summary>
internal static class ScheduleRows
{
    private const string Columns = "name, definition, paused, next_fire_us, last_fire_us, last_job_id, skipped_fires, created_us, updated_us, version";

    private static readonly string[] Names = [.. Columns.Split(", ")];

    /// <summary>The schedules <paramref name="query"/> selects, by name.</summary>
    public static SqlQuery Select(ISqlDialect dialect, ScheduleQuery query)
    {
        var p = new SqlParameters(dialect);
        var conditions = new List<string>();
        if (query.Name is { } name)
        {
            conditions.Add($"name = {p.Add("name", name)}");
        }

        if (query.DueBy is { } due)
        {
            conditions.Add($"paused = 0 AND next_fire_us <= {p.Add("due", TimeMicros.From(due))}");
        }

        var where = conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", conditions);
        return new($"SELECT {Columns} FROM schedules{where} ORDER BY name", p.Values);
    }

    public static Schedule Read(DbDataReader r)
    {
        var definition = JsonSerializer.Deserialize(r.GetString(1), CoreJsonContext.Default.Schedule)
            ?? throw new InvalidDataException($"Schedule '{r.GetString(0)}' has no definition.");
        return definition with
        {
            Name = r.GetString(0),
            Paused = r.GetInt32(2) != 0,
            NextFireAt = r.IsDBNull(3) ? null : TimeMicros.ToTimestamp(r.GetInt64(3)),
            LastFireAt = r.IsDBNull(4) ? null : TimeMicros.ToTimestamp(r.GetInt64(4)),
            LastJobId = r.IsDBNull(5) ? null : r.GetString(5),
            SkippedFires = r.GetInt64(6),
            CreatedAt = TimeMicros.ToTimestamp(r.GetInt64(7)),
            UpdatedAt = TimeMicros.ToTimestamp(r.GetInt64(8)),
            Version = r.GetInt64(9),
            NextRuns = [],
        };
    }

    /// <summary>
    /// Insert (when <paramref name="expected"/> is 0 and no row has the name) or compare-and-set update (of the row still at
    /// version <paramref name="expected"/>; a deleted schedule is not brought back). Returns the name when it wrote.
    /// </summary>
    public static SqlQuery Save(ISqlDialect dialect, Schedule s, long expected)
    {
        var p = new SqlParameters(dialect);
        // The definition alone: the state has columns of its own.
        var definition = JsonSerializer.Serialize(s with
        {
            Paused = false, NextRuns = [], NextFireAt = null, LastFireAt = null, LastJobId = null, SkippedFires = 0,
            CreatedAt = default, UpdatedAt = default, Version = 0,
        }, CoreJsonContext.Default.Schedule);
        object[] values =
        [
            s.Name, definition, s.Paused ? 1 : 0, Micros(s.NextFireAt), Micros(s.LastFireAt), (object?)s.LastJobId ?? DBNull.Value,
            s.SkippedFires, TimeMicros.From(s.CreatedAt), TimeMicros.From(s.UpdatedAt), s.Version,
        ];
        var placeholders = Names.Select((n, i) => p.Add(n, values[i])).ToArray();
        if (expected == 0)
        {
            return new($"INSERT INTO schedules ({Columns}) VALUES ({string.Join(", ", placeholders)}) ON CONFLICT (name) DO NOTHING RETURNING name",
                p.Values);
        }

        var assignments = string.Join(", ", Names.Skip(1).Select((n, i) => $"{n} = {placeholders[i + 1]}"));
        return new($"UPDATE schedules SET {assignments} WHERE name = {placeholders[0]} AND version = {p.Add("expected", expected)} RETURNING name",
            p.Values);
    }

    public static SqlQuery Delete(ISqlDialect dialect, string name)
    {
        var p = new SqlParameters(dialect);
        return new($"DELETE FROM schedules WHERE name = {p.Add("name", name)} RETURNING name", p.Values);
    }

    private static object Micros(DateTimeOffset? value) => value is { } v ? TimeMicros.From(v) : DBNull.Value;
}
