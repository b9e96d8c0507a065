using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational.Queues;

/// <summary>The reads of queues both relational stores make alike: their settings, and their state at a glance.</summary>
internal sealed class QueueReads(ISqlDialect dialect, ISqlReader reader)
{
    public async Task<IReadOnlyList<QueueSettings>> GetSettingsAsync(CancellationToken cancellationToken) =>
        await reader.QueryAsync(QueueRows.All(), QueueRows.Read, cancellationToken).ConfigureAwait(false);

    /// <summary>See <see cref="IJobStore.GetQueueStatsAsync"/>: a count by queue and status, and the queued and finished jobs' times.</summary>
    public async Task<IReadOnlyList<QueueStats>> GetStatsAsync(string? queue, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var nowMicros = TimeMicros.From(now);
        var settings = (await GetSettingsAsync(cancellationToken).ConfigureAwait(false))
            .Where(s => queue is null || s.Name == queue).ToDictionary(s => s.Name, StringComparer.Ordinal);

        var counts = await QueryAsync(p => $"SELECT queue, status, COUNT(*) FROM jobs{Where(p, queue)} GROUP BY queue, status",
            r => (Queue: r.GetString(0), Status: r.GetString(1), Count: r.GetInt64(2)), cancellationToken).ConfigureAwait(false);
        var oldest = await QueryAsync(p => $"SELECT queue, MIN(run_at_us) FROM jobs{dialect.IndexedBy("ix_jobs_claim_queue")} " +
            $"WHERE status = {StatusSql.Of(JobStatus.Queued)} AND run_at_us <= {p.Add("now", nowMicros)}{And(p, queue)} GROUP BY queue",
            r => (Queue: r.GetString(0), RunAt: r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
        var finished = await QueryAsync(p =>
            {
                var minute = p.Add("m1", nowMicros - 60_000_000L);
                var five = p.Add("m5", nowMicros - 300_000_000L);
                return $"SELECT queue, SUM(CASE WHEN completed_us > {minute} THEN 1 ELSE 0 END), SUM(CASE WHEN completed_us > {five} THEN 1 ELSE 0 END), " +
                    $"COUNT(*) FROM jobs{dialect.IndexedBy("ix_jobs_terminal_completed")} WHERE status IN {StatusSql.Terminal} " +
                    $"AND completed_us > {p.Add("m15", nowMicros - 900_000_000L)}{And(p, queue)} GROUP BY queue";
            },
            r => (Queue: r.GetString(0), One: r.GetInt64(1), Five: r.GetInt64(2), Fifteen: r.GetInt64(3)), cancellationToken).ConfigureAwait(false);

        var names = new SortedSet<string>(StringComparer.Ordinal);
        names.UnionWith(settings.Keys);
        names.UnionWith(counts.Select(c => c.Queue));
        if (queue is null)
        {
            names.Add(JobQueues.Default);
        }
        else if (names.Count == 0)
        {
            return [];
        }

        var stats = new List<QueueStats>(names.Count);
        foreach (var name in names)
        {
            var queueSettings = settings.GetValueOrDefault(name) ?? new QueueSettings { Name = name };
            var byStatus = JobStatusNames.All.ToDictionary(s => s, _ => 0L);
            foreach (var row in counts.Where(c => c.Queue == name))
            {
                if (JobStatusNames.TryParse(row.Status, out var status))
                {
                    byStatus[status] = row.Count;
                }
            }

            long? started = null;
            if (queueSettings.RateLimit is { } rate)
            {
                var since = QueueLoad.WindowStart(rate, nowMicros);
                var rows = await reader.QueryAsync(QueueFlowSql.Starts(dialect, name, since), r => r.GetInt64(1), cancellationToken).ConfigureAwait(false);
                started = rows.Sum();
            }

            var due = oldest.Where(o => o.Queue == name).Select(o => (long?)o.RunAt).FirstOrDefault();
            var done = finished.FirstOrDefault(f => f.Queue == name);
            stats.Add(new QueueStats(queueSettings, byStatus, due is { } d ? TimeMicros.ToTimestamp(d) : null, started, done.One, done.Five, done.Fifteen));
        }

        return stats;
    }

    private static string Where(SqlParameters p, string? queue) => queue is null ? "" : $" WHERE queue = {p.Add("queue", queue)}";

    private static string And(SqlParameters p, string? queue) => queue is null ? "" : $" AND queue = {p.Add("queue", queue)}";

    private async Task<List<T>> QueryAsync<T>(Func<SqlParameters, string> text, Func<System.Data.Common.DbDataReader, T> read, CancellationToken cancellationToken)
    {
        var parameters = new SqlParameters(dialect);
        var sql = text(parameters);
        return await reader.QueryAsync(new SqlQuery(sql, parameters.Values), read, cancellationToken).ConfigureAwait(false);
    }
}
