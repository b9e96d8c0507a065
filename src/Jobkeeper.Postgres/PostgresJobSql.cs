using Jobkeeper.Model;
using Jobkeeper.Relational;

namespace Jobkeeper.Postgres;

/// <summary>The PostgreSQL statements of the store that do not depend on a request's filters (positional <c>$n</c> parameters).</summary>
internal static class PostgresJobSql
{
    public static readonly string SelectList = JobColumns.SelectList("j");

    public static readonly string GetJob = $"SELECT {SelectList} FROM jobs j WHERE j.id = $1";

    public static readonly string GetJobs = $"SELECT {SelectList} FROM jobs j WHERE j.id = ANY($1)";

    // One index probe per type (ix_jobs_claim is ordered by run_at within a type and priority).
    public static readonly string NextRunAt = $"SELECT MIN(run_at_us) FROM jobs WHERE status = {StatusSql.Of(JobStatus.Queued)} AND type = ANY($1)";

    public static readonly string NextRunAtInQueues = NextRunAt + " AND queue = ANY($2)";

    public static readonly string NextRunAtOfQueues = $"SELECT MIN(run_at_us) FROM jobs WHERE status = {StatusSql.Of(JobStatus.Queued)} AND queue = ANY($1)";

    public static readonly string IsCurrent = "SELECT 1 FROM jobs WHERE id = $1 AND version = $2";

    // Rows locked by others are skipped, so instances claiming at once never wait for each other or take the same job.
    public static readonly string SelectClaimable =
        $"SELECT {SelectList} FROM jobs j WHERE j.status = {StatusSql.Of(JobStatus.Queued)} AND j.type = $1 AND j.run_at_us <= $2 " +
        "ORDER BY j.priority DESC, j.run_at_us, j.id LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED";

    /// <summary>As <see cref="SelectClaimable"/>, in one queue ($4).</summary>
    public static readonly string SelectClaimableInQueue =
        $"SELECT {SelectList} FROM jobs j WHERE j.status = {StatusSql.Of(JobStatus.Queued)} AND j.type = $1 AND j.run_at_us <= $2 AND j.queue = $4 " +
        "ORDER BY j.priority DESC, j.run_at_us, j.id LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED";

    /// <summary>One queue's ($1) due queued jobs of every type, in claim order (ix_jobs_claim_queue).</summary>
    public static readonly string SelectClaimableOfQueue =
        $"SELECT {SelectList} FROM jobs j WHERE j.status = {StatusSql.Of(JobStatus.Queued)} AND j.queue = $1 AND j.run_at_us <= $2 " +
        "ORDER BY j.priority DESC, j.run_at_us, j.id LIMIT $3 FOR NO KEY UPDATE SKIP LOCKED";

    public const string DeleteJob = """
        WITH d AS (DELETE FROM jobs WHERE id = $1 RETURNING id, version),
             l AS (DELETE FROM job_labels WHERE job_id IN (SELECT id FROM d)),
             e AS (DELETE FROM job_events WHERE job_id IN (SELECT id FROM d))
        SELECT id FROM d
        """;

    public static readonly string DeleteTerminalBatch = $"""
        WITH d AS (
                DELETE FROM jobs WHERE id IN (
                    SELECT id FROM jobs WHERE status IN {StatusSql.Terminal} AND completed_us < $1
                    ORDER BY completed_us LIMIT $2 FOR UPDATE SKIP LOCKED)
                RETURNING id),
             l AS (DELETE FROM job_labels WHERE job_id IN (SELECT id FROM d)),
             e AS (DELETE FROM job_events WHERE job_id IN (SELECT id FROM d))
        SELECT id FROM d
        """;

    public static readonly string DeleteTerminalIds = $"""
        WITH d AS (
                DELETE FROM jobs WHERE id = ANY($1) AND status IN {StatusSql.Terminal} AND completed_us < $2
                RETURNING id),
             l AS (DELETE FROM job_labels WHERE job_id IN (SELECT id FROM d)),
             e AS (DELETE FROM job_events WHERE job_id IN (SELECT id FROM d))
        SELECT id FROM d
        """;

    /// <summary>Takes a block of event ids; the row stays locked until commit (see migration 1).</summary>
    public const string TakeEventIds = "UPDATE job_event_ids SET last = last + $1 RETURNING last";

    /// <summary>Appends the batch's events with the ids just taken, in order.</summary>
    public const string InsertEvents = """
        INSERT INTO job_events (id, job_id, type, at_us, actor, version, data, job_status, display_name, reason)
        SELECT (SELECT last FROM job_event_ids) - $1 + u.ord, u.job_id, u.type, u.at_us, u.actor, u.version, u.data, u.job_status,
            u.display_name, u.reason
        FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[])
            WITH ORDINALITY AS u(job_id, type, at_us, actor, version, data, job_status, display_name, reason, ord)
        """;

    public const string DeleteLabels = "DELETE FROM job_labels WHERE job_id = ANY($1)";

    public const string InsertLabels = """
        INSERT INTO job_labels (job_id, key, value, created_us)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[])
        """;

    public const string Notify = "SELECT pg_notify($1, $2)";

    /// <summary>
    /// The writer's transaction id, once it has one (a transaction that has written nothing has none). Read before
    /// COMMIT, it is what tells whether the transaction committed if the COMMIT's reply is lost.
    /// </summary>
    public const string TransactionId = "SELECT pg_current_xact_id_if_assigned()";

    /// <summary>
    /// Whether transaction $1 committed ('committed', 'aborted', 'in progress'), and the id of the last event it
    /// appended to job $2 (its rows carry the transaction in <c>xmin</c>; the index on the job's events finds them).
    /// </summary>
    public const string TransactionOutcome =
        "SELECT pg_xact_status($1), (SELECT max(id) FROM job_events WHERE job_id = $2 AND xmin = xid($1))";

    private static readonly string FeedSelect =
        $"SELECT {JobColumns.EventSelectList("e")}, j.type, e.job_status FROM job_events e JOIN jobs j ON j.id = e.job_id";

    public static readonly string Feed = FeedSelect + " WHERE e.id > $1 ORDER BY e.id LIMIT $2";

    public static readonly string JobFeed = FeedSelect + " WHERE e.job_id = $3 AND e.id > $1 ORDER BY e.id LIMIT $2";

    public static readonly string Events =
        $"SELECT {JobColumns.EventSelectList("e")} FROM job_events e WHERE e.job_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3";
}
