using Jobkeeper.Storage;

namespace Jobkeeper.Relational;

/// <summary>The statements that store what an instance saw of its workers (<see cref="IJobStore.RecordWorkersAsync"/>), alike on both stores.</summary>
internal static class WorkerSql
{
    /// <summary>Replaces the row of one worker as one instance saw it.</summary>
    public static SqlQuery Upsert(ISqlDialect dialect, WorkerSeen row)
    {
        var p = new SqlParameters(dialect);
        var sql = "INSERT INTO job_workers (worker_id, instance, kind, last_seen_us, recorded_us, claimed_5m, completed_5m, failed_5m) VALUES (" +
            $"{p.Add("worker", row.WorkerId)}, {p.Add("instance", row.Instance)}, {p.Add("kind", row.Kind)}, {p.Add("seen", TimeMicros.From(row.LastSeen))}, " +
            $"{p.Add("recorded", TimeMicros.From(row.RecordedAt))}, {p.Add("claimed", row.ClaimedLast5Minutes)}, {p.Add("completed", row.CompletedLast5Minutes)}, " +
            $"{p.Add("failed", row.FailedLast5Minutes)}) ON CONFLICT (worker_id, instance) DO UPDATE SET kind = excluded.kind, " +
            "last_seen_us = excluded.last_seen_us, recorded_us = excluded.recorded_us, claimed_5m = excluded.claimed_5m, " +
            "completed_5m = excluded.completed_5m, failed_5m = excluded.failed_5m";
        return new SqlQuery(sql, p.Values);
    }

    /// <summary>Drops the rows of workers not seen since <paramref name="before"/>.</summary>
    public static SqlQuery Forget(ISqlDialect dialect, DateTimeOffset before)
    {
        var p = new SqlParameters(dialect);
        return new SqlQuery($"DELETE FROM job_workers WHERE last_seen_us < {p.Add("before", TimeMicros.From(before))}", p.Values);
    }
}
