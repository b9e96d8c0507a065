using System.Net.Sockets;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// The shared store: one PostgreSQL database behind any number of instances. Each instance group-commits its
/// writes through one writer, claims with <c>FOR UPDATE SKIP LOCKED</c>, reads through a pooled data source
/// (statements prepared automatically), and announces every commit to the other instances (LISTEN/NOTIFY).
/// </summary>
public sealed class PostgresJobStore : ISharedJobStore
{
    private readonly PostgresStoreOptions _options;
    private readonly IJobStoreObserver[] _observers;
    private readonly ILogger<PostgresJobStore> _logger;
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private readonly NpgsqlDataSource _dataSource;
    private PostgresWriter? _writer;
    private PostgresChangeListener? _listener;
    private int _schemaVersion;
    private int _disposed;

    public PostgresJobStore(PostgresStoreOptions options, IEnumerable<IJobStoreObserver> observers, ILogger<PostgresJobStore> logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString, nameof(options));
        _options = options;
        _observers = observers.ToArray();
        _logger = logger;
        var timeout = Math.Max(1, (int)Math.Ceiling(options.Timeout.TotalSeconds));
        var builder = new NpgsqlConnectionStringBuilder(ParseConnectionString(options.ConnectionString))
        {
            Timeout = timeout,
            CommandTimeout = timeout,
            CancellationTimeout = 2000,
            MaxPoolSize = Math.Max(4, options.MaxPoolSize),
            // The statements are few and fixed; preparing them saves parsing and planning on every call.
            MaxAutoPrepare = 64,
            AutoPrepareMinUsages = 2,
            // Notices of other instances must arrive promptly, and a dead server must be noticed while idle.
            KeepAlive = 10,
            NoResetOnClose = true,
        };
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "jobkeeper";
        }

        _dataSource = NpgsqlDataSource.Create(builder);
        Description = new StoreDescription("postgres", Describe(builder));
    }

    public StoreDescription Description { get; }

    /// <summary>
    /// Checks the connection string's syntax and values, so a typo is a configuration error at start that says what
    /// is wrong (never the string itself: it may hold a password), not a stack trace from deep in the driver.
    /// </summary>
    private static string ParseConnectionString(string connectionString)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(connectionString).ConnectionString;
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            throw new InvalidOperationException(
                $"The PostgreSQL connection string is not valid: {ex.Message.TrimEnd('.')}. Give key=value pairs separated by ';', " +
                "e.g. Host=db.example.org;Database=jobkeeper;Username=jobkeeper;Password=...", ex);
        }
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_writer is not null)
        {
            return;
        }

        long lastEventId;
        await using (var connection = await Open(cancellationToken).ConfigureAwait(false))
        {
            _schemaVersion = await PostgresMigrations.ApplyAsync(connection, _logger, cancellationToken).ConfigureAwait(false);
            await using var last = new NpgsqlCommand("SELECT last FROM job_event_ids", connection);
            lastEventId = (long)(await last.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }

        _listener = new PostgresChangeListener(_dataSource, _options, _instance, _observers, ReadFeedAsync, ReadChangesAsync, ReadLastEventIdAsync, _logger);
        await _listener.StartAsync(lastEventId, cancellationToken).ConfigureAwait(false);
        _writer = new PostgresWriter(_dataSource, _options, _instance, OnCommitted, _logger);
    }

    public Task<bool> InsertAsync(Job job, JobEvent created, CancellationToken cancellationToken) =>
        Writer.Enqueue(new PostgresInsertOp(job, created));

    public Task<bool> ReplaceAsync(JobReplacement replacement, CancellationToken cancellationToken) =>
        Writer.Enqueue(new PostgresReplaceOp(replacement));

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        Writer.Enqueue(new PostgresDeleteJobOp(id));

    public Task<IReadOnlyList<string>> DeleteTerminalBatchAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken) =>
        Writer.Enqueue(new PostgresDeleteTerminalOp(TimeMicros.From(cutoff), batchSize));

    public Task<IReadOnlyList<Job>> ClaimAsync(ClaimRequest request, Func<Job, JobReplacement> claim, CancellationToken cancellationToken) =>
        Writer.Enqueue(new PostgresClaimOp(request, claim));

    public Task<IReadOnlyList<Job>> GetTerminalBatchAsync(DateTimeOffset cutoff, JobStatus? status, int limit, CancellationToken cancellationToken) =>
        status is { } s
            ? QueryJobsAsync($"SELECT {PostgresJobSql.SelectList} FROM jobs j WHERE j.status = $3 AND j.completed_us < $1 " +
                "ORDER BY j.completed_us, j.id LIMIT $2", [TimeMicros.From(cutoff), limit, s.ToName()], cancellationToken)
            : QueryJobsAsync($"SELECT {PostgresJobSql.SelectList} FROM jobs j WHERE j.status IN ('completed', 'failed', 'cancelled') " +
                "AND j.completed_us < $1 ORDER BY j.completed_us, j.id LIMIT $2", [TimeMicros.From(cutoff), limit], cancellationToken);

    public Task<IReadOnlyList<string>> DeleteTerminalAsync(IReadOnlyCollection<string> ids, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        Writer.Enqueue(new PostgresDeleteTerminalIdsOp(ids.ToArray(), TimeMicros.From(cutoff)));

    public Task<IReadOnlyList<Job>> GetExpiredLeasesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        QueryJobsAsync($"SELECT {PostgresJobSql.SelectList} FROM jobs j WHERE j.status = 'running' AND j.lease_expires_us <= $1 " +
            "ORDER BY j.lease_expires_us LIMIT $2", [TimeMicros.From(now), limit], cancellationToken);

    public Task<IReadOnlyList<Job>> GetExpiredPromptsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        QueryJobsAsync($"SELECT {PostgresJobSql.SelectList} FROM jobs j WHERE j.status = 'waiting' AND j.prompt_expires_us <= $1 " +
            "ORDER BY j.prompt_expires_us LIMIT $2", [TimeMicros.From(now), limit], cancellationToken);

    public async Task<DateTimeOffset?> GetNextRunAtAsync(IReadOnlyCollection<string> types, CancellationToken cancellationToken)
    {
        // One index probe per type (ix_jobs_claim is ordered by run_at within a type and priority).
        const string sql = "SELECT MIN(run_at_us) FROM jobs WHERE status = 'queued' AND type = ANY($1)";
        var value = await Run(async ct =>
        {
            await using var command = _dataSource.CreateCommand(sql);
            command.Parameters.Add(PostgresCommit.Parameter(types.ToArray()));
            return await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        return value is long micros ? TimeMicros.ToTimestamp(micros) : null;
    }

    public Task RecordRunnersAsync(IReadOnlyDictionary<string, DateTimeOffset> seen, CancellationToken cancellationToken)
    {
        if (seen.Count == 0)
        {
            return Task.CompletedTask;
        }

        // Not job state, so not through the group-commit writer: one idempotent upsert, about once a minute.
        const string sql = "INSERT INTO job_runners (type, seen_us) SELECT * FROM unnest($1::text[], $2::bigint[]) " +
            "ON CONFLICT (type) DO UPDATE SET seen_us = GREATEST(job_runners.seen_us, excluded.seen_us)";
        return Run(async ct =>
        {
            await using var command = _dataSource.CreateCommand(sql);
            command.Parameters.Add(PostgresCommit.Parameter(seen.Keys.ToArray()));
            command.Parameters.Add(new NpgsqlParameter { Value = seen.Values.Select(TimeMicros.From).ToArray() });
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    public Task<IReadOnlyCollection<string>> GetRunnersAsync(DateTimeOffset seenSince, CancellationToken cancellationToken) =>
        Run<IReadOnlyCollection<string>>(async ct =>
        {
            await using var command = _dataSource.CreateCommand("SELECT type FROM job_runners WHERE seen_us >= $1");
            command.Parameters.Add(PostgresCommit.Parameter(TimeMicros.From(seenSince)));
            var types = new HashSet<string>(StringComparer.Ordinal);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                types.Add(reader.GetString(0));
            }

            return types;
        }, cancellationToken);

    public async Task<Job?> GetAsync(string id, CancellationToken cancellationToken)
    {
        var jobs = await QueryJobsAsync(PostgresJobSql.GetJob, [id], cancellationToken).ConfigureAwait(false);
        return jobs.Count > 0 ? jobs[0] : null;
    }

    public async ValueTask<bool> IsCurrentAsync(string id, long version, CancellationToken cancellationToken) =>
        await Run(async ct =>
        {
            await using var command = _dataSource.CreateCommand(PostgresJobSql.IsCurrent);
            command.Parameters.Add(PostgresCommit.Parameter(id));
            command.Parameters.Add(PostgresCommit.Parameter(version));
            return await command.ExecuteScalarAsync(ct).ConfigureAwait(false) is not null;
        }, cancellationToken).ConfigureAwait(false);

    public async Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken)
    {
        var take = query.Limit + 1;
        var rows = await Run(async ct =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var command = PostgresListQuery.Build(query, null, take);
            command.Connection = connection;
            return await ReadJobsAsync(command, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

        JobCursor? next = null;
        if (rows.Count > query.Limit)
        {
            rows.RemoveAt(rows.Count - 1);
            next = JobCursor.After(rows[^1]);
        }

        return new JobPage(rows, next);
    }

    public Task<IReadOnlyList<JobEvent>> GetEventsAsync(string jobId, long afterId, int limit, CancellationToken cancellationToken) =>
        Run<IReadOnlyList<JobEvent>>(async ct =>
        {
            await using var command = _dataSource.CreateCommand(PostgresJobSql.Events);
            command.Parameters.Add(PostgresCommit.Parameter(jobId));
            command.Parameters.Add(PostgresCommit.Parameter(afterId));
            command.Parameters.Add(PostgresCommit.Parameter(limit));
            var events = new List<JobEvent>();
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                events.Add(JobColumns.ReadEvent(reader));
            }

            return events;
        }, cancellationToken);

    public Task<IReadOnlyList<FeedEvent>> GetFeedAsync(long afterId, int limit, string? jobId, CancellationToken cancellationToken) =>
        Run<IReadOnlyList<FeedEvent>>(async ct =>
        {
            await using var command = _dataSource.CreateCommand(jobId is null ? PostgresJobSql.Feed : PostgresJobSql.JobFeed);
            command.Parameters.Add(PostgresCommit.Parameter(afterId));
            command.Parameters.Add(PostgresCommit.Parameter(limit));
            if (jobId is not null)
            {
                command.Parameters.Add(PostgresCommit.Parameter(jobId));
            }

            var feed = new List<FeedEvent>();
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                feed.Add(new FeedEvent(JobColumns.ReadEvent(reader), reader.GetString(JobColumns.EventColumnCount), JobColumns.ReadStatus(reader, JobColumns.EventColumnCount + 1)));
            }

            return feed;
        }, cancellationToken);

    public Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken) =>
        Run(async ct =>
        {
            var byStatus = JobStatusNames.All.ToDictionary(s => s, _ => 0L);
            long size;
            await using (var counts = _dataSource.CreateCommand("SELECT status, COUNT(*) FROM jobs GROUP BY status"))
            await using (var reader = await counts.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    if (JobStatusNames.TryParse(reader.GetString(0), out var status))
                    {
                        byStatus[status] = reader.GetInt64(1);
                    }
                }
            }

            await using (var bytes = _dataSource.CreateCommand(
                "SELECT pg_total_relation_size('jobs') + pg_total_relation_size('job_labels') + pg_total_relation_size('job_events')"))
            {
                size = (long)(await bytes.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
            }

            return new StoreStats("postgres", Description.Location, _schemaVersion, size, byStatus.Values.Sum(), byStatus);
        }, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (_writer is not null)
        {
            await _writer.DisposeAsync().ConfigureAwait(false);
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Right after a commit, on the writer, before the writers are answered: this instance's observers, then its live streams.</summary>
    private void OnCommitted(PostgresCommit commit)
    {
        if (commit.Changes.Count > 0)
        {
            IReadOnlyList<CommittedChange>? withoutEvents = null;
            foreach (var observer in _observers)
            {
                try
                {
                    // Live streams take events from the feed only, in id order with every other instance's.
                    observer.JobsCommitted(observer is IJobFeedObserver
                        ? withoutEvents ??= commit.Changes.Select(c => c with { Events = [] }).ToArray()
                        : commit.Changes);
                }
                catch (Exception ex)
                {
                    _logger.LogError(ex, "Store observer {Observer} failed", observer.GetType().Name);
                }
            }
        }

        _listener?.CommittedHere(commit.LastEventId);
    }

    private Task<IReadOnlyList<FeedEvent>> ReadFeedAsync(long afterId, int limit, CancellationToken cancellationToken) =>
        GetFeedAsync(afterId, limit, null, cancellationToken);

    private Task<long> ReadLastEventIdAsync(CancellationToken cancellationToken) =>
        Run(async ct =>
        {
            await using var command = _dataSource.CreateCommand("SELECT last FROM job_event_ids");
            return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }, cancellationToken);

    /// <summary>The current states of jobs changed elsewhere (null for those deleted since).</summary>
    private async Task<IReadOnlyList<CommittedChange>> ReadChangesAsync(string[] ids, CancellationToken cancellationToken)
    {
        var jobs = await QueryJobsAsync(PostgresJobSql.GetJobs, [ids], cancellationToken).ConfigureAwait(false);
        var byId = jobs.ToDictionary(j => j.Id, StringComparer.Ordinal);
        return ids.Select(id => new CommittedChange(id, byId.GetValueOrDefault(id), [])).ToArray();
    }

    private Task<IReadOnlyList<Job>> QueryJobsAsync(string sql, object[] values, CancellationToken cancellationToken) =>
        Run<IReadOnlyList<Job>>(async ct =>
        {
            await using var command = _dataSource.CreateCommand(sql);
            foreach (var value in values)
            {
                command.Parameters.Add(PostgresCommit.Parameter(value));
            }

            return await ReadJobsAsync(command, ct).ConfigureAwait(false);
        }, cancellationToken);

    private static async Task<List<Job>> ReadJobsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var jobs = new List<Job>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            jobs.Add(JobColumns.Read(reader));
        }

        return jobs;
    }

    private async Task<NpgsqlConnection> Open(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>Runs a read; an unreachable server becomes <see cref="StoreUnavailableException"/> (503 with the reason).</summary>
    private async Task<T> Run<T>(Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        try
        {
            return await read(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw Unavailable(ex);
        }
    }

    private static bool IsUnavailable(Exception ex, CancellationToken cancellationToken) =>
        ex is NpgsqlException or SocketException or TimeoutException
        || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private static StoreUnavailableException Unavailable(Exception ex) =>
        new("PostgreSQL is unreachable or did not answer in time: " + ex.Message, ex);

    private PostgresWriter Writer => _writer ?? throw NotOpen();

    private static InvalidOperationException NotOpen() =>
        new("The PostgreSQL store is not open: InitializeAsync must run first (the Jobkeeper hosted service does this at start-up).");

    /// <summary>Where the data lives, without the password.</summary>
    private static string Describe(NpgsqlConnectionStringBuilder builder) =>
        $"{builder.Host}:{builder.Port}/{builder.Database}";
}
