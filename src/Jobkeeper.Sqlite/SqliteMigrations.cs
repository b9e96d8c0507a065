using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Sqlite;

/// <summary>
/// Versioned schema changes, applied in order at start-up inside one transaction each; the applied
/// versions are recorded in <c>schema_migrations</c>. Append new versions; never edit old ones.
/// </summary>
internal static class SqliteMigrations
{
    private static readonly (int Version, string Name, string Sql)[] Steps =
    [
        (1, "jobs, labels and events", """
            CREATE TABLE jobs (
                id               TEXT    NOT NULL PRIMARY KEY,
                type             TEXT    NOT NULL,
                status           TEXT    NOT NULL,
                priority         INTEGER NOT NULL DEFAULT 0,
                input            TEXT,
                labels           TEXT,
                progress         TEXT,
                result           TEXT,
                error            TEXT,
                attempt          INTEGER NOT NULL DEFAULT 0,
                max_attempts     INTEGER NOT NULL DEFAULT 3,
                created_us       INTEGER NOT NULL,
                updated_us       INTEGER NOT NULL,
                started_us       INTEGER,
                completed_us     INTEGER,
                run_at_us        INTEGER NOT NULL,
                lease_owner      TEXT,
                lease_expires_us INTEGER,
                lease_token      TEXT,
                version          INTEGER NOT NULL
            );
            -- Newest-first listing, alone or filtered by status or type, with a keyset cursor.
            CREATE INDEX ix_jobs_created ON jobs (created_us DESC, id DESC);
            CREATE INDEX ix_jobs_status_created ON jobs (status, created_us DESC, id DESC);
            CREATE INDEX ix_jobs_type_created ON jobs (type, created_us DESC, id DESC);
            -- Cleanup finds old finished jobs without scanning live ones.
            CREATE INDEX ix_jobs_terminal_completed ON jobs (completed_us)
                WHERE status IN ('completed', 'failed', 'cancelled');

            CREATE TABLE job_labels (
                job_id     TEXT    NOT NULL,
                key        TEXT    NOT NULL,
                value      TEXT    NOT NULL,
                created_us INTEGER NOT NULL,
                PRIMARY KEY (job_id, key)
            ) WITHOUT ROWID;
            -- Label filters are answered from here in newest-first order (created_us is copied from the job).
            CREATE INDEX ix_job_labels_lookup ON job_labels (key, value, created_us DESC, job_id DESC);

            CREATE TABLE job_events (
                id      INTEGER PRIMARY KEY,
                job_id  TEXT    NOT NULL,
                type    TEXT    NOT NULL,
                at_us   INTEGER NOT NULL,
                actor   TEXT,
                version INTEGER NOT NULL,
                data    TEXT
            );
            CREATE INDEX ix_job_events_job ON job_events (job_id, id);
            """),
        (2, "workers: claims, leases, cancellation, 1-based attempts", """
            ALTER TABLE jobs ADD COLUMN cancel_requested_us INTEGER;
            -- attempt now counts from 1 (the attempt a queued job will run as).
            UPDATE jobs SET attempt = 1 WHERE attempt < 1;
            -- Claims walk the due queued jobs of one type in claim order; only queued rows are indexed.
            CREATE INDEX ix_jobs_claim ON jobs (type, priority DESC, run_at_us, id) WHERE status = 'queued';
            -- The reaper finds expired leases without scanning anything but running jobs.
            CREATE INDEX ix_jobs_lease ON jobs (lease_expires_us) WHERE status = 'running';
            """),
        (3, "human in the loop: prompts and checkpoints", """
            ALTER TABLE jobs ADD COLUMN prompts TEXT;
            ALTER TABLE jobs ADD COLUMN checkpoint TEXT;
            -- When the open prompt of a waiting job expires; kept in step with prompts by the writer.
            ALTER TABLE jobs ADD COLUMN prompt_expires_us INTEGER;
            CREATE INDEX ix_jobs_prompt_expiry ON jobs (prompt_expires_us) WHERE status = 'waiting';
            """),
        (4, "event ids never reused; each event keeps its job's status (live streams resume by id)", """
            -- AUTOINCREMENT keeps the highest id ever given in sqlite_sequence, so deleting the newest
            -- events (a deleted job) can never lead to an id being handed out twice.
            CREATE TABLE job_events_v4 (
                id      INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id  TEXT    NOT NULL,
                type    TEXT    NOT NULL,
                at_us   INTEGER NOT NULL,
                actor   TEXT,
                version INTEGER NOT NULL,
                data    TEXT,
                -- The job's status right after the change, so a replayed stream filters as the live one did.
                job_status TEXT
            );
            INSERT INTO job_events_v4 (id, job_id, type, at_us, actor, version, data)
                SELECT id, job_id, type, at_us, actor, version, data FROM job_events ORDER BY id;
            DROP TABLE job_events;
            ALTER TABLE job_events_v4 RENAME TO job_events;
            CREATE INDEX ix_job_events_job ON job_events (job_id, id);
            """),
        (5, "every running job holds a lease; the job types handlers and workers run", """
            -- How far a renewal moves the lease ahead (the claim's length, or the app-driven lease).
            ALTER TABLE jobs ADD COLUMN lease_us INTEGER;
            -- Jobs set running by hand before every running job had a lease get one now: 30 minutes from the
            -- upgrade, renewed by their next update, so a job whose driver died is recovered instead of kept running.
            UPDATE jobs SET lease_owner = COALESCE(lease_owner, 'app'),
                            lease_token = lower(hex(randomblob(16))),
                            lease_us = 1800000000,
                            lease_expires_us = CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER) + 1800000000
                WHERE status = 'running' AND lease_expires_us IS NULL;
            -- When a handler or worker last said it runs a type: a job whose lease expires is queued again only
            -- when something can run it.
            CREATE TABLE job_runners (
                type    TEXT    NOT NULL PRIMARY KEY,
                seen_us INTEGER NOT NULL
            ) WITHOUT ROWID;
            """),
        (6, "who asked for a change: the caller's display name and reason beside the actor", """
            ALTER TABLE job_events ADD COLUMN display_name TEXT;
            ALTER TABLE job_events ADD COLUMN reason TEXT;
            """),
        (7, "the W3C trace context of the request that created a job", """
            -- Set once at creation; the claim, the run and the worker's calls join that trace.
            ALTER TABLE jobs ADD COLUMN traceparent TEXT;
            """),
        (8, "named queues", """
            -- The queue a job waits in, set once at creation; jobs from before queues are in 'default'.
            ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
            -- Claims by queue walk one queue's due queued jobs in claim order; listings by queue walk it newest first.
            CREATE INDEX ix_jobs_claim_queue ON jobs (queue, priority DESC, run_at_us, id) WHERE status = 'queued';
            CREATE INDEX ix_jobs_queue_created ON jobs (queue, created_us DESC, id DESC);
            """),
        (9, "queue settings and flow control", """
            -- A queue's flow settings, the same for every claim; a row exists only once something was set.
            CREATE TABLE queues (
                name              TEXT    NOT NULL PRIMARY KEY,
                concurrency_limit INTEGER,
                partition_key     TEXT,
                partition_limit   INTEGER,
                rate_count        INTEGER,
                rate_period_us    INTEGER,
                rate_per_key      INTEGER NOT NULL DEFAULT 0,
                paused            INTEGER NOT NULL DEFAULT 0,
                paused_types      TEXT,
                updated_us        INTEGER,
                version           INTEGER NOT NULL
            );
            -- Where a partitioned queue's round robin over keys stopped.
            CREATE TABLE queue_turns (
                queue    TEXT NOT NULL PRIMARY KEY,
                last_key TEXT NOT NULL
            );
            -- The starts a rate limit counts, kept for one window.
            CREATE TABLE queue_starts (
                queue TEXT    NOT NULL,
                key   TEXT    NOT NULL,
                at_us INTEGER NOT NULL
            );
            CREATE INDEX ix_queue_starts ON queue_starts (queue, at_us);
            -- The key of a partitioned queue's job (null otherwise): set at creation, moved when the partition changes.
            ALTER TABLE jobs ADD COLUMN partition_key TEXT;
            -- A partitioned queue's due jobs per key in claim order; a skip scan of it lists the keys.
            CREATE INDEX ix_jobs_claim_partition ON jobs (queue, partition_key, priority DESC, run_at_us, id)
                WHERE status = 'queued' AND partition_key IS NOT NULL;
            -- What a queue runs, per key: what its limits count.
            CREATE INDEX ix_jobs_running_queue ON jobs (queue, partition_key) WHERE status = 'running';
            """),
        (10, "unique keys", """
            -- The key that made a create idempotent, set once at creation. A create with a key finds the newest jobs with it
            -- here (inside the single writer's transaction); jobs without one are not indexed.
            ALTER TABLE jobs ADD COLUMN unique_key TEXT;
            CREATE INDEX ix_jobs_unique ON jobs (unique_key, created_us DESC, id DESC) WHERE unique_key IS NOT NULL;
            """),
        (11, "schedules", """
            -- Recurring schedules: what each is (its definition, JSON) and what it did. Each fire's job is unique by the
            -- schedule and the fire time.
            CREATE TABLE schedules (
                name          TEXT    NOT NULL PRIMARY KEY,
                definition    TEXT    NOT NULL,
                paused        INTEGER NOT NULL DEFAULT 0,
                next_fire_us  INTEGER,
                last_fire_us  INTEGER,
                last_job_id   TEXT,
                skipped_fires INTEGER NOT NULL DEFAULT 0,
                created_us    INTEGER NOT NULL,
                updated_us    INTEGER NOT NULL,
                version       INTEGER NOT NULL
            );
            """),
        (12, "workers seen", """
            -- What each instance saw of each worker (in-process engines, HTTP workers by worker_id): when last, and what it
            -- claimed, completed and failed in the five minutes before it recorded the row. One row per worker and instance.
            CREATE TABLE job_workers (
                worker_id    TEXT    NOT NULL,
                instance     TEXT    NOT NULL,
                kind         TEXT    NOT NULL,
                last_seen_us INTEGER NOT NULL,
                recorded_us  INTEGER NOT NULL,
                claimed_5m   INTEGER NOT NULL,
                completed_5m INTEGER NOT NULL,
                failed_5m    INTEGER NOT NULL,
                PRIMARY KEY (worker_id, instance)
            ) WITHOUT ROWID;
            CREATE INDEX ix_job_workers_seen ON job_workers (last_seen_us);
            """),
        (13, "search", """
            -- Full-text search over each job's type, labels, input, result and error (q= of the listing). A change only marks
            -- the job in jobs_search_pending (one small insert); the search indexer moves marked jobs into the FTS5 index in
            -- batches, a few thousand per transaction: indexing each job in its own commit halved the create rate. Keyed by
            -- the jobs' rowid (contentless, so a delete needs only the rowid); a VACUUM, which may renumber rowids, marks
            -- every job again.
            CREATE VIRTUAL TABLE jobs_search USING fts5(body, content='', contentless_delete=1, detail='none');
            CREATE TABLE jobs_search_pending (job_rowid INTEGER PRIMARY KEY);
            CREATE TRIGGER jobs_search_insert AFTER INSERT ON jobs BEGIN
                INSERT OR IGNORE INTO jobs_search_pending (job_rowid) VALUES (new.rowid);
            END;
            CREATE TRIGGER jobs_search_update AFTER UPDATE OF labels, input, result, error ON jobs
                WHEN old.labels IS NOT new.labels OR old.input IS NOT new.input OR old.result IS NOT new.result OR old.error IS NOT new.error
            BEGIN
                INSERT OR IGNORE INTO jobs_search_pending (job_rowid) VALUES (new.rowid);
            END;
            CREATE TRIGGER jobs_search_delete AFTER DELETE ON jobs BEGIN
                DELETE FROM jobs_search WHERE rowid = old.rowid;
                DELETE FROM jobs_search_pending WHERE job_rowid = old.rowid;
            END;
            INSERT INTO jobs_search_pending (job_rowid) SELECT rowid FROM jobs;
            """),
    ];

    public static int LatestVersion => Steps[^1].Version;

    public static int Apply(SqliteConnection connection, ILogger logger)
    {
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INTEGER NOT NULL PRIMARY KEY,
                name       TEXT    NOT NULL,
                applied_at TEXT    NOT NULL
            );
            """);
        var current = CurrentVersion(connection);
        if (current > LatestVersion)
        {
            throw new InvalidOperationException(
                $"The database is at schema version {current}, newer than this Jobkeeper knows ({LatestVersion}). Upgrade Jobkeeper.");
        }

        foreach (var (version, name, sql) in Steps)
        {
            if (version <= current)
            {
                continue;
            }

            using var transaction = connection.BeginTransaction();
            Execute(connection, sql, transaction);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($version, $name, $at)";
            record.Parameters.AddWithValue("$version", version);
            record.Parameters.AddWithValue("$name", name);
            record.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToString("O"));
            record.ExecuteNonQuery();
            transaction.Commit();
            logger.LogInformation("Applied schema migration {SchemaVersion}: {MigrationName}", version, name);
            current = version;
        }

        return current;
    }

    public static int CurrentVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
