using System.Text.Json;
using Jobkeeper.Json;
using Jobkeeper.Model;
using Jobkeeper.Relational;
using Jobkeeper.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// Jobs created in the application's own transaction ("insert the order and enqueue its job", committed or rolled back
/// together). The job row and its labels go into that transaction at version 0, with a run_at no claim reaches, and a row in
/// <c>job_enlisted</c> with what its creation needs; a notice rides on the same transaction, so it arrives only if it commits.
/// Nothing else is written there: the created event takes an id from the store's ordered event counter, whose lock must not
/// be held for as long as an application's transaction stays open. Once it committed, any instance records the creation
/// through the store as an ordinary compare-and-set change from version 0 (the created event, the real run_at), so the hot
/// caches, live streams and waiting workers learn of it as of any commit. A rolled-back job never existed anywhere.
/// </summary>
internal sealed class PostgresEnlisted(Func<JobReplacement, Task<bool>> replace, string channel, ILogger logger)
{
    /// <summary>The run_at of a job whose creation is not recorded yet: later than any claim looks.</summary>
    public static readonly long HoldMicros = TimeMicros.From(new DateTimeOffset(9999, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private const int BatchSize = 500;

    private static readonly string InsertJob = BuildInsert();

    private const string InsertLabels =
        "INSERT INTO job_labels (job_id, key, value, created_us) SELECT $1, u.key, u.value, $4 FROM unnest($2::text[], $3::text[]) AS u(key, value)";

    private const string InsertEnlisted =
        "INSERT INTO job_enlisted (job_id, run_at_us, actor, display_name, reason, created_us) VALUES ($1, $2, $3, $4, $5, $6)";

    private static readonly string Pending =
        $"SELECT {JobColumns.SelectList("j")}, e.run_at_us, e.actor, e.display_name, e.reason FROM job_enlisted e JOIN jobs j ON j.id = e.job_id " +
        $"WHERE j.version = 0 ORDER BY e.created_us LIMIT {BatchSize}";

    private const string Forget =
        "DELETE FROM job_enlisted e WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = e.job_id AND j.version = 0)";

    /// <summary>Writes the new job into the application's transaction; false when its id is taken.</summary>
    public async Task<bool> EnlistAsync(NpgsqlTransaction transaction, JobInsert insert, string instanceNotice, CancellationToken cancellationToken)
    {
        var connection = transaction.Connection ?? throw new InvalidOperationException("The transaction is no longer open (committed or rolled back).");
        var job = insert.Job;
        var created = TimeMicros.From(job.CreatedAt);
        var held = job with { Version = 0, RunAt = TimeMicros.ToTimestamp(HoldMicros) };
        await using (var insertJob = new NpgsqlBatch(connection, transaction))
        {
            // Alone first: a taken id writes nothing else into the application's transaction.
            insertJob.BatchCommands.Add(Command(InsertJob, JobColumns.ToInsertValues(held)));
            await using var reader = await insertJob.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        if (job.Labels.Count > 0)
        {
            batch.BatchCommands.Add(Command(InsertLabels, job.Id, job.Labels.Keys.ToArray(), job.Labels.Values.ToArray(), created));
        }

        batch.BatchCommands.Add(Command(InsertEnlisted, job.Id, TimeMicros.From(job.RunAt), (object?)insert.Created.Actor ?? DBNull.Value,
            (object?)insert.Created.DisplayName ?? DBNull.Value, (object?)insert.Created.Reason ?? DBNull.Value, created));
        batch.BatchCommands.Add(Command("SELECT pg_notify($1, $2)", channel, instanceNotice));
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Records the creation of the committed jobs still at version 0 (every instance may; one compare-and-set wins) and forgets
    /// the ones recorded. Returns how many this instance recorded.
    /// </summary>
    public async Task<int> FinishAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        var pending = new List<(Job Job, long RunAt, string? Actor, string? DisplayName, string? Reason)>();
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var command = new NpgsqlCommand(Pending, connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var at = JobColumns.Selected.Count;
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                pending.Add((JobColumns.Read(reader), reader.GetInt64(at), Text(reader, at + 1), Text(reader, at + 2), Text(reader, at + 3)));
            }
        }

        var recorded = 0;
        foreach (var (job, runAt, actor, displayName, reason) in pending)
        {
            var next = job with { Version = 1, RunAt = TimeMicros.ToTimestamp(runAt) };
            var created = new JobEvent
            {
                JobId = job.Id, Type = JobEventTypes.Created, At = job.CreatedAt, Actor = actor, DisplayName = displayName, Reason = reason, Version = 1,
            };
            if (await replace(new JobReplacement(next, 0, [created], LabelsChanged: false)).ConfigureAwait(false))
            {
                recorded++;
            }
        }

        if (pending.Count > 0)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var forget = new NpgsqlCommand(Forget, connection);
            await forget.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            logger.LogDebug("Recorded the creation of {Count} jobs created in applications' transactions", recorded);
        }

        return recorded;
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static NpgsqlBatchCommand Command(string sql, params object?[] values) => PostgresCommit.Command(sql, values);

    private static string BuildInsert()
    {
        var columns = JobColumns.Inserted;
        var names = string.Join(", ", columns);
        var values = string.Join(", ", columns.Select((_, i) => $"${i + 1}"));
        // The partition key as every insert computes it, from the row's own type, labels and queue.
        var partition = PostgresDialect.Instance.PartitionKeyOf($"${columns.ToList().IndexOf("type") + 1}::text",
            $"${columns.ToList().IndexOf("labels") + 1}::text", $"${columns.ToList().IndexOf("queue") + 1}::text");
        return $"INSERT INTO jobs ({names}, partition_key) VALUES ({values}, {partition}) ON CONFLICT (id) DO NOTHING RETURNING id";
    }
}
