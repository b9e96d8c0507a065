using Microsoft.Extensions.Logging;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// Versioned schema changes, applied at start-up in one transaction under an advisory lock, so that
/// several instances starting at once apply each step exactly once. Append new versions; never edit old ones.
/// </summary>
internal static class PostgresMigrations
{
    // Any fixed number: the lock only has to be the same for every instance migrating this database.
    private const long MigrationLockKey = 0x4A6F_626B_6565_7031;

    private static readonly (int Version, string Name, string Sql)[] Steps =
    [
        (1, "jobs, labels, events, claims, leases and prompts", """
            -- Ids and types compare byte-wise ("C"), as the keyset cursor and claim order expect.
            CREATE TABLE jobs (
                id                  text   COLLATE "C" NOT NULL PRIMARY KEY,
                type                text   COLLATE "C" NOT NULL,
                status              text   NOT NULL,
                priority            integer NOT NULL DEFAULT 0,
                input               text,
                labels              text,
                progress            text,
                result              text,
                error               text,
                attempt             integer NOT NULL DEFAULT 1,
                max_attempts        integer NOT NULL DEFAULT 3,
                created_us          bigint NOT NULL,
                updated_us          bigint NOT NULL,
                started_us          bigint,
                completed_us        bigint,
                run_at_us           bigint NOT NULL,
                lease_owner         text,
                lease_expires_us    bigint,
                lease_token         text,
                version             bigint NOT NULL,
                cancel_requested_us bigint,
                prompts             text,
                checkpoint          text,
                prompt_expires_us   bigint
            );
            -- Newest-first listing, alone or filtered by status or type, with a keyset cursor.
            CREATE INDEX ix_jobs_created ON jobs (created_us DESC, id DESC);
            CREATE INDEX ix_jobs_status_created ON jobs (status, created_us DESC, id DESC);
            CREATE INDEX ix_jobs_type_created ON jobs (type, created_us DESC, id DESC);
            -- Cleanup finds old finished jobs without scanning live ones.
            CREATE INDEX ix_jobs_terminal_completed ON jobs (completed_us) WHERE status IN ('completed', 'failed', 'cancelled');
            -- Claims walk one type's due queued jobs in claim order; only queued rows are indexed, so the
            -- index stays small however many finished jobs the table holds.
            CREATE INDEX ix_jobs_claim ON jobs (type, priority DESC, run_at_us, id) WHERE status = 'queued';
            CREATE INDEX ix_jobs_lease ON jobs (lease_expires_us) WHERE status = 'running';
            CREATE INDEX ix_jobs_prompt_expiry ON jobs (prompt_expires_us) WHERE status = 'waiting';

            CREATE TABLE job_labels (
                job_id     text   COLLATE "C" NOT NULL,
                key        text   NOT NULL,
                value      text   NOT NULL,
                created_us bigint NOT NULL,
                PRIMARY KEY (job_id, key)
            );
            CREATE INDEX ix_job_labels_lookup ON job_labels (key, value, created_us DESC, job_id DESC);

            CREATE TABLE job_events (
                id         bigint NOT NULL PRIMARY KEY,
                job_id     text   COLLATE "C" NOT NULL,
                type       text   NOT NULL,
                at_us      bigint NOT NULL,
                actor      text,
                version    bigint NOT NULL,
                data       text,
                job_status text   NOT NULL
            );
            CREATE INDEX ix_job_events_job ON job_events (job_id, id);

            -- The last event id handed out. Writers take ids from this one row, which also orders them: the
            -- row stays locked until the writer commits, so ids are committed in increasing order on every
            -- instance and a stream that resumes after an id can never miss one committed later below it.
            CREATE TABLE job_event_ids (last bigint NOT NULL);
            INSERT INTO job_event_ids (last) VALUES (0);
            """),
        (2, "every running job holds a lease; the job types handlers and workers run", """
            -- How far a renewal moves the lease ahead (the claim's length, or the app-driven lease).
            ALTER TABLE jobs ADD COLUMN lease_us bigint;
            -- Jobs set running by hand before every running job had a lease get one now: 30 minutes from the
            -- upgrade, renewed by their next update, so a job whose driver died is recovered instead of kept running.
            UPDATE jobs SET lease_owner = COALESCE(lease_owner, 'app'),
                            lease_token = md5(random()::text || id),
                            lease_us = 1800000000,
                            lease_expires_us = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint + 1800000000
                WHERE status = 'running' AND lease_expires_us IS NULL;
            -- When a handler or worker last said it runs a type: a job whose lease expires is queued again only
            -- when something can run it.
            CREATE TABLE job_runners (
                type    text   COLLATE "C" NOT NULL PRIMARY KEY,
                seen_us bigint NOT NULL
            );
            """),
        (3, "who asked for a change: the caller's display name and reason beside the actor", """
            ALTER TABLE job_events ADD COLUMN display_name text, ADD COLUMN reason text;
            """),
        (4, "the W3C trace context of the request that created a job", """
            -- Set once at creation; the claim, the run and the worker's calls join that trace.
            ALTER TABLE jobs ADD COLUMN traceparent text;
            """),
        (5, "named queues", """
            -- The queue a job waits in, set once at creation; jobs from before queues are in 'default'.
            ALTER TABLE jobs ADD COLUMN queue text COLLATE "C" NOT NULL DEFAULT 'default';
            -- Claims by queue walk one queue's due queued jobs in claim order; listings by queue walk it newest first.
            CREATE INDEX ix_jobs_claim_queue ON jobs (queue, priority DESC, run_at_us, id) WHERE status = 'queued';
            CREATE INDEX ix_jobs_queue_created ON jobs (queue, created_us DESC, id DESC);
            """),
        (6, "queue settings and flow control", """
            -- A queue's flow settings, the same for every instance; a row exists only once something was set.
            CREATE TABLE queues (
                name              text COLLATE "C" NOT NULL PRIMARY KEY,
                concurrency_limit integer,
                partition_key     text COLLATE "C",
                partition_limit   integer,
                rate_count        integer,
                rate_period_us    bigint,
                rate_per_key      integer NOT NULL DEFAULT 0,
                paused            integer NOT NULL DEFAULT 0,
                paused_types      text,
                updated_us        bigint,
                version           bigint  NOT NULL
            );
            -- Bumped by every change of settings: a claim that read it under the settings lock knows its copy is current.
            CREATE TABLE queue_epoch (epoch bigint NOT NULL);
            INSERT INTO queue_epoch (epoch) VALUES (0);
            -- Where a partitioned queue's round robin over keys stopped.
            CREATE TABLE queue_turns (
                queue    text COLLATE "C" NOT NULL PRIMARY KEY,
                last_key text COLLATE "C" NOT NULL
            );
            -- The starts a rate limit counts, kept for one window.
            CREATE TABLE queue_starts (
                queue text COLLATE "C" NOT NULL,
                key   text COLLATE "C" NOT NULL,
                at_us bigint NOT NULL
            );
            CREATE INDEX ix_queue_starts ON queue_starts (queue, at_us);
            -- The key of a partitioned queue's job (null otherwise): set at creation, moved when the partition changes.
            ALTER TABLE jobs ADD COLUMN partition_key text COLLATE "C";
            -- A partitioned queue's due jobs per key in claim order; a skip scan of it lists the keys.
            CREATE INDEX ix_jobs_claim_partition ON jobs (queue, partition_key, priority DESC, run_at_us, id)
                WHERE status = 'queued' AND partition_key IS NOT NULL;
            -- What a queue runs, per key: what its limits count.
            CREATE INDEX ix_jobs_running_queue ON jobs (queue, partition_key) WHERE status = 'running';
            """),
        (7, "unique keys", """
            -- The key that made a create idempotent, set once at creation. A create with a key finds the newest jobs with it
            -- here (under an advisory lock of the key); jobs without one are not indexed.
            ALTER TABLE jobs ADD COLUMN unique_key text COLLATE "C";
            CREATE INDEX ix_jobs_unique ON jobs (unique_key, created_us DESC, id DESC) WHERE unique_key IS NOT NULL;
            """),
        (8, "schedules", """
            -- Recurring schedules: what each is (its definition, JSON) and what it did. The elected maintenance instance fires
            -- the due ones; each fire's job is unique by the schedule and the fire time.
            CREATE TABLE schedules (
                name          text   COLLATE "C" NOT NULL PRIMARY KEY,
                definition    text   NOT NULL,
                paused        integer NOT NULL DEFAULT 0,
                next_fire_us  bigint,
                last_fire_us  bigint,
                last_job_id   text,
                skipped_fires bigint NOT NULL DEFAULT 0,
                created_us    bigint NOT NULL,
                updated_us    bigint NOT NULL,
                version       bigint NOT NULL
            );
            """),
        (9, "jobs created in the application's transaction", """
            -- A job the application created in its own transaction is stored there at version 0, not yet due; its row here
            -- holds what its creation needs. Once that transaction committed, an instance records the creation (version 1,
            -- the created event, its run_at) through the store, and deletes the row; a rolled-back one never existed.
            CREATE TABLE job_enlisted (
                job_id       text   COLLATE "C" NOT NULL PRIMARY KEY,
                run_at_us    bigint NOT NULL,
                actor        text,
                display_name text,
                reason       text,
                created_us   bigint NOT NULL
            );
            """),
        (10, "workers seen", """
            -- What each instance saw of each worker (in-process engines, HTTP workers by worker_id): when last, and what it
            -- claimed, completed and failed in the five minutes before it recorded the row. One row per worker and instance.
            CREATE TABLE job_workers (
                worker_id    text   COLLATE "C" NOT NULL,
                instance     text   COLLATE "C" NOT NULL,
                kind         text   NOT NULL,
                last_seen_us bigint NOT NULL,
                recorded_us  bigint NOT NULL,
                claimed_5m   bigint NOT NULL,
                completed_5m bigint NOT NULL,
                failed_5m    bigint NOT NULL,
                PRIMARY KEY (worker_id, instance)
            );
            CREATE INDEX ix_job_workers_seen ON job_workers (last_seen_us);
            """),
        (11, "search", """
            -- Full-text search over each job's type, labels, input, result and error (q= of the listing). The words are the runs
            -- of letters and digits of that text, lower-cased, as the searches' words are cut: punctuation is made a space first
            -- (by character class, which under the columns' "C" collation knows ASCII only, so letters beyond ASCII stay letters).
            -- A change only marks the job in job_search_pending; the search indexer (on the maintenance leader) computes the
            -- words of marked jobs in batches: indexing each job as it was written halved the create rate.
            CREATE FUNCTION jobkeeper_job_words(type text, labels text, input text, result text, error text) RETURNS tsvector
                LANGUAGE sql IMMUTABLE PARALLEL SAFE
                AS $$ SELECT to_tsvector('simple', regexp_replace(concat_ws(' ', type, labels, input, result, error), '[[:punct:][:space:][:cntrl:]]+', ' ', 'g')) $$;
            -- No foreign keys to jobs: their checks would take key-share locks on job rows, and a job's delete (which locks
            -- the row, then cascades) and the indexer (which locks marks, then checks the row) would deadlock. A trigger
            -- deletes a job's rows instead; a row the indexer writes for a job deleted meanwhile matches no job.
            CREATE TABLE job_search (
                job_id text COLLATE "C" NOT NULL PRIMARY KEY,
                words  tsvector NOT NULL
            );
            CREATE INDEX ix_job_search_words ON job_search USING gin (words);
            CREATE TABLE job_search_pending (
                job_id text COLLATE "C" NOT NULL PRIMARY KEY
            );
            CREATE FUNCTION jobkeeper_search_forget_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM job_search WHERE job_id IN (SELECT id FROM old_jobs);
                DELETE FROM job_search_pending WHERE job_id IN (SELECT id FROM old_jobs);
                RETURN NULL;
            END $$;
            CREATE TRIGGER jobs_search_delete AFTER DELETE ON jobs REFERENCING OLD TABLE AS old_jobs
                FOR EACH STATEMENT EXECUTE FUNCTION jobkeeper_search_forget_deleted();
            -- Inserts mark their jobs once per statement (a batch insert is one statement); updates per row, and only when the
            -- text changed (the WHEN is checked before any function runs).
            CREATE FUNCTION jobkeeper_search_mark_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO job_search_pending (job_id) SELECT id FROM new_jobs ON CONFLICT DO NOTHING;
                RETURN NULL;
            END $$;
            CREATE FUNCTION jobkeeper_search_mark_updated() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO job_search_pending (job_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
                RETURN NULL;
            END $$;
            CREATE TRIGGER jobs_search_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_jobs
                FOR EACH STATEMENT EXECUTE FUNCTION jobkeeper_search_mark_inserted();
            CREATE TRIGGER jobs_search_update AFTER UPDATE OF labels, input, result, error ON jobs FOR EACH ROW
                WHEN (OLD.labels IS DISTINCT FROM NEW.labels OR OLD.input IS DISTINCT FROM NEW.input
                      OR OLD.result IS DISTINCT FROM NEW.result OR OLD.error IS DISTINCT FROM NEW.error)
                EXECUTE FUNCTION jobkeeper_search_mark_updated();
            INSERT INTO job_search_pending (job_id) SELECT id FROM jobs;
            """),
    ];

    public static int LatestVersion => Steps[^1].Version;

    public static async Task<int> ApplyAsync(NpgsqlConnection connection, ILogger logger, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, "SELECT pg_advisory_xact_lock(@key)", cancellationToken, ("key", MigrationLockKey)).ConfigureAwait(false);
        await ExecuteAsync(connection, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer     NOT NULL PRIMARY KEY,
                name       text        NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, cancellationToken).ConfigureAwait(false);
        var current = await CurrentVersionAsync(connection, cancellationToken).ConfigureAwait(false);
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

            await ExecuteAsync(connection, sql, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, "INSERT INTO schema_migrations (version, name) VALUES (@version, @name)", cancellationToken,
                ("version", version), ("name", name)).ConfigureAwait(false);
            logger.LogInformation("Applied schema migration {SchemaVersion}: {MigrationName}", version, name);
            current = version;
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return current;
    }

    public static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", connection);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
