using System.Data.Common;
using System.Text.Json;
using Jobkeeper.Json;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational.Queues;

/// <summary>How a queue's settings map to a row of the <c>queues</c> table, both ways, for both stores.</summary>
internal static class QueueRows
{
    public const string Columns =
        "name, concurrency_limit, partition_key, partition_limit, rate_count, rate_period_us, rate_per_key, paused, paused_types, updated_us, version";

    public static QueueSettings Read(DbDataReader r) => new()
    {
        Name = r.GetString(0),
        ConcurrencyLimit = r.IsDBNull(1) ? null : r.GetInt32(1),
        Partition = r.IsDBNull(2) ? null : new QueuePartition { Key = r.GetString(2), Limit = r.IsDBNull(3) ? null : r.GetInt32(3) },
        RateLimit = r.IsDBNull(4) ? null : new QueueRateLimit
        {
            Count = r.GetInt32(4),
            PeriodSeconds = (int)(r.GetInt64(5) / 1_000_000),
            PerKey = r.GetInt32(6) != 0,
        },
        Paused = r.GetInt32(7) != 0,
        PausedTypes = r.IsDBNull(8) ? [] : JsonSerializer.Deserialize(r.GetString(8), CoreJsonContext.Default.IReadOnlyListString) ?? [],
        UpdatedAt = r.IsDBNull(9) ? null : TimeMicros.ToTimestamp(r.GetInt64(9)),
        Version = r.GetInt64(10),
    };

    /// <summary>The values of <see cref="Columns"/>, in order.</summary>
    public static object[] Values(QueueSettings s) =>
    [
        s.Name,
        (object?)s.ConcurrencyLimit ?? DBNull.Value,
        (object?)s.Partition?.Key ?? DBNull.Value,
        (object?)s.Partition?.Limit ?? DBNull.Value,
        (object?)s.RateLimit?.Count ?? DBNull.Value,
        s.RateLimit is { } rate ? rate.PeriodSeconds * 1_000_000L : DBNull.Value,
        s.RateLimit?.PerKey == true ? 1 : 0,
        s.Paused ? 1 : 0,
        s.PausedTypes.Count == 0 ? DBNull.Value : JsonSerializer.Serialize(s.PausedTypes, CoreJsonContext.Default.IReadOnlyListString),
        s.UpdatedAt is { } at ? TimeMicros.From(at) : DBNull.Value,
        s.Version,
    ];

    public static readonly string[] Names = [.. Columns.Split(", ")];

    /// <summary>
    /// Insert or compare-and-set update of one queue's settings: inserts when <c>expected</c> is 0 and no row exists, or
    /// updates the row still at version <c>expected</c>. Returns the name when it wrote.
    /// </summary>
    public static SqlQuery Save(ISqlDialect dialect, QueueSettings settings, long expected)
    {
        var p = new SqlParameters(dialect);
        var values = Values(settings);
        var placeholders = Names.Select((n, i) => p.Add(n, values[i])).ToArray();
        var expectedPlaceholder = p.Add("expected", expected);
        var assignments = string.Join(", ", Names.Skip(1).Select(n => $"{n} = excluded.{n}"));
        var sql = $"INSERT INTO queues ({Columns}) VALUES ({string.Join(", ", placeholders)}) " +
            $"ON CONFLICT (name) DO UPDATE SET {assignments} WHERE queues.version = {expectedPlaceholder} RETURNING name";
        return new SqlQuery(sql, p.Values);
    }

    public static SqlQuery All() => new($"SELECT {Columns} FROM queues ORDER BY name", []);

    /// <summary>
    /// Moves the jobs of a queue that are not finished into the partitions of its current settings (run right after a change
    /// of them, in the same transaction).
    /// </summary>
    public static SqlQuery Repartition(ISqlDialect dialect, string queue)
    {
        var p = new SqlParameters(dialect);
        var q = p.Add("queue", queue);
        var sql = $"UPDATE jobs SET partition_key = {dialect.PartitionKeyOf("jobs.type", "jobs.labels", "jobs.queue")} " +
            $"WHERE queue = {q} AND status NOT IN {StatusSql.Terminal}";
        return new SqlQuery(sql, p.Values);
    }
}
