using System.Data.Common;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Relational;

/// <summary>How a store runs a read on one of its connections; its errors come out as the store's exceptions.</summary>
internal interface ISqlReader
{
    Task<List<T>> QueryAsync<T>(SqlQuery query, Func<DbDataReader, T> read, CancellationToken cancellationToken);
}

/// <summary>
/// The reads both relational stores make alike, over their own connections and dialect: the listing, the maintenance
/// queries (expired leases and prompts, terminal batches, runners) and the counts by status. Each walks a partial index
/// of the status it asks for, which the dialect names where its planner needs telling.
/// </summary>
internal sealed class RelationalReads(ISqlDialect dialect, ISqlReader reader)
{
    private static readonly string SelectList = JobColumns.SelectList("j");

    public Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken) =>
        JobListQuery.ListAsync(dialect, reader, query, cancellationToken);

    /// <summary>See <see cref="IJobStore.GetExpiredLeasesAsync"/>; ix_jobs_lease holds running jobs only.</summary>
    public Task<IReadOnlyList<Job>> GetExpiredLeasesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        JobsAsync(p => $"SELECT {SelectList} FROM jobs j{dialect.IndexedBy("ix_jobs_lease")} WHERE j.status = {StatusSql.Of(JobStatus.Running)} " +
            $"AND j.lease_expires_us <= {p.Add("now", TimeMicros.From(now))} ORDER BY j.lease_expires_us LIMIT {p.Add("limit", limit)}", cancellationToken);

    /// <summary>See <see cref="IJobStore.GetExpiredPromptsAsync"/>; ix_jobs_prompt_expiry holds waiting jobs only.</summary>
    public Task<IReadOnlyList<Job>> GetExpiredPromptsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        JobsAsync(p => $"SELECT {SelectList} FROM jobs j{dialect.IndexedBy("ix_jobs_prompt_expiry")} WHERE j.status = {StatusSql.Of(JobStatus.Waiting)} " +
            $"AND j.prompt_expires_us <= {p.Add("now", TimeMicros.From(now))} ORDER BY j.prompt_expires_us LIMIT {p.Add("limit", limit)}", cancellationToken);

    /// <summary>See <see cref="IJobStore.GetTerminalBatchAsync"/>; ix_jobs_terminal_completed holds finished jobs only.</summary>
    public Task<IReadOnlyList<Job>> GetTerminalBatchAsync(DateTimeOffset cutoff, JobStatus? status, int limit, CancellationToken cancellationToken) =>
        JobsAsync(p => $"SELECT {SelectList} FROM jobs j{dialect.IndexedBy("ix_jobs_terminal_completed")} WHERE j.status IN {StatusSql.Terminal} " +
            $"AND j.completed_us < {p.Add("cutoff", TimeMicros.From(cutoff))}" +
            (status is { } s ? $" AND j.status = {p.Add("status", s.ToName())}" : "") +
            $" ORDER BY j.completed_us, j.id LIMIT {p.Add("limit", limit)}", cancellationToken);

    /// <summary>See <see cref="IJobStore.GetRunnersAsync"/>.</summary>
    public async Task<IReadOnlyCollection<string>> GetRunnersAsync(DateTimeOffset seenSince, CancellationToken cancellationToken)
    {
        var parameters = new SqlParameters(dialect);
        var sql = $"SELECT type FROM job_runners WHERE seen_us >= {parameters.Add("since", TimeMicros.From(seenSince))}";
        var types = await reader.QueryAsync(new SqlQuery(sql, parameters.Values), r => r.GetString(0), cancellationToken).ConfigureAwait(false);
        return types.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>See <see cref="IJobStore.GetWorkersAsync"/>.</summary>
    public Task<List<WorkerSeen>> GetWorkersAsync(DateTimeOffset seenSince, CancellationToken cancellationToken)
    {
        var parameters = new SqlParameters(dialect);
        var sql = "SELECT worker_id, instance, kind, last_seen_us, recorded_us, claimed_5m, completed_5m, failed_5m FROM job_workers " +
            $"WHERE last_seen_us >= {parameters.Add("since", TimeMicros.From(seenSince))} ORDER BY worker_id, instance";
        return reader.QueryAsync(new SqlQuery(sql, parameters.Values), r => new WorkerSeen(r.GetString(0), r.GetString(1), r.GetString(2),
            TimeMicros.ToTimestamp(r.GetInt64(3)), TimeMicros.ToTimestamp(r.GetInt64(4)), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7)), cancellationToken);
    }

    /// <summary>The number of jobs of every status (zero for those with none).</summary>
    public async Task<Dictionary<JobStatus, long>> CountByStatusAsync(CancellationToken cancellationToken)
    {
        var rows = await reader.QueryAsync(new SqlQuery("SELECT status, COUNT(*) FROM jobs GROUP BY status", []),
            r => (Name: r.GetString(0), Count: r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
        var byStatus = JobStatusNames.All.ToDictionary(s => s, _ => 0L);
        foreach (var (name, count) in rows)
        {
            if (JobStatusNames.TryParse(name, out var status))
            {
                byStatus[status] = count;
            }
        }

        return byStatus;
    }

    private async Task<IReadOnlyList<Job>> JobsAsync(Func<SqlParameters, string> text, CancellationToken cancellationToken)
    {
        var parameters = new SqlParameters(dialect);
        var sql = text(parameters);
        return await reader.QueryAsync(new SqlQuery(sql, parameters.Values), JobColumns.Read, cancellationToken).ConfigureAwait(false);
    }
}
