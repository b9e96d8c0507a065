using System.Data.Common;
using System.Net.Sockets;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Relational;
using Jobkeeper.Relational.Queues;
using Jobkeeper.Relational.Schedules;
using Jobkeeper.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>
/// The shared store: one PostgreSQL database behind any number of instances. Each instance group-commits its
/// writes through one writer, claims with <c>FOR NO KEY UPDATE SKIP LOCKED</c>, reads through a pooled data source
/// (statements prepared automatically), and announces every commit to the other instances (LISTEN/NOTIFY).
/// </summary>
public sealed class PostgresJobStore : ISharedJobStore, ISqlReader
{
    private readonly PostgresStoreOptions _options;
    private readonly StoreObservers _observers;
    private readonly ILogger<PostgresJobStore> _logger;
    private readonly string _instance = Guid.NewGuid().ToString("N");
    private readonly NpgsqlDataSource _dataSource;
    private readonly Telemetry.JobkeeperInstruments? _instruments;
    private readonly RelationalReads _reads;
    private readonly QueueReads _queueReads;
    private readonly QueueFlowState _flow = new();
    private readonly string _lockConnectionString;
    private GroupCommitWriter<IPostgresWriteOp>? _writer;
    // Claims that walk a flow-controlled queue, on a writer connection of their own. Each holds the queue's lock until it
    // commits; on the shared writers the completions and creates batched with it waited behind that lock, and the claims
    // behind each other. Apart, they batch together and nothing else waits (docs/benchmarks.md, "Flow control").
    private GroupCommitWriter<IPostgresWriteOp>? _flowWriter;
    private PostgresChangeListener? _listener;
    private PostgresEnlisted? _enlisted;
    // Coalesces the notices of committed application transactions: one pass records every pending creation.
    private readonly SemaphoreSlim _enlistedSignal = new(0, 1);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _enlistedLoop;
    private int _schemaVersion;
    private int _disposed;

    /// <param name="instruments">Where commits are recorded (batch size, duration); none when null.</param>
    public PostgresJobStore(PostgresStoreOptions options, IEnumerable<IJobStoreObserver> observers, ILogger<PostgresJobStore> logger,
        Telemetry.JobkeeperInstruments? instruments = null)
    {
        _instruments = instruments;
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString, nameof(options));
        _options = options;
        _observers = new StoreObservers(observers, logger);
        _reads = new RelationalReads(PostgresDialect.Instance, this);
        _queueReads = new QueueReads(PostgresDialect.Instance, this);
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
        // The maintenance lock lives as long as its session: a connection of its own, never returned to a pool.
        _lockConnectionString = new NpgsqlConnectionStringBuilder(builder.ConnectionString)
        {
            Pooling = false,
            ApplicationName = builder.ApplicationName + " maintenance lock",
        }.ConnectionString;
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
            _flow.Set(await PostgresFlowLocks.LoadAsync(connection, cancellationToken).ConfigureAwait(false));
        }

        _listener = new PostgresChangeListener(_dataSource, _options, _instance, _observers.All, ReadFeedAsync, ReadChangesAsync, ReadLastEventIdAsync, _logger,
            SignalEnlisted);
        await _listener.StartAsync(lastEventId, cancellationToken).ConfigureAwait(false);
        _writer = NewWriter(Math.Max(1, _options.Writers));
        _flowWriter = NewWriter(1);
        _enlisted = new PostgresEnlisted(r => Write(new PostgresReplaceOp(r)), _options.Channel, _logger);
        _enlistedLoop = Task.Run(() => RecordEnlistedAsync(_stopping.Token), CancellationToken.None);
    }

    private GroupCommitWriter<IPostgresWriteOp> NewWriter(int connections) => new(
        Enumerable.Range(0, connections).Select(_ => new PostgresCommitter(_dataSource, _options, _instance, OnCommitted, _flow, _logger)).ToArray(),
        _options.MaxBatchSize, _logger, _instruments);

    public Task<bool> InsertAsync(Job job, JobEvent created, CancellationToken cancellationToken) =>
        Write(new PostgresInsertOp(job, created));

    public Task<InsertOutcome> InsertUniqueAsync(JobInsert insert, CancellationToken cancellationToken) =>
        Write(new PostgresUniqueInsertOp(insert));

    public Task<IReadOnlyList<InsertOutcome>> InsertManyAsync(IReadOnlyList<JobInsert> jobs, CancellationToken cancellationToken) =>
        Write(new PostgresInsertManyOp(jobs));

    public Task<bool> ReplaceAsync(JobReplacement replacement, CancellationToken cancellationToken) =>
        Write(new PostgresReplaceOp(replacement));

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        Write(new PostgresDeleteJobOp(id));

    public Task<IReadOnlyList<string>> DeleteTerminalBatchAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken) =>
        Write(new PostgresDeleteTerminalOp(TimeMicros.From(cutoff), batchSize));

    /// <summary>A claim that walks a flow-controlled queue goes to the flow writer (see <c>_flowWriter</c>), any other to the shared writers.</summary>
    public Task<IReadOnlyList<Job>> ClaimAsync(ClaimRequest request, Func<Job, JobReplacement> claim, CancellationToken cancellationToken) =>
        Write(new PostgresClaimOp(request, claim, _flow), FlowClaim.QueuesOf(request, _flow.Current).Count > 0 ? _flowWriter : null);

    public Task<IReadOnlyList<Job>> GetTerminalBatchAsync(DateTimeOffset cutoff, JobStatus? status, int limit, CancellationToken cancellationToken) =>
        _reads.GetTerminalBatchAsync(cutoff, status, limit, cancellationToken);

    public Task<IReadOnlyList<string>> DeleteTerminalAsync(IReadOnlyCollection<string> ids, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        Write(new PostgresDeleteTerminalIdsOp(ids.ToArray(), TimeMicros.From(cutoff)));

    public Task<IReadOnlyList<Job>> GetExpiredLeasesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        _reads.GetExpiredLeasesAsync(now, limit, cancellationToken);

    public Task<IReadOnlyList<Job>> GetExpiredPromptsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        _reads.GetExpiredPromptsAsync(now, limit, cancellationToken);

    public async Task<DateTimeOffset?> GetNextRunAtAsync(IReadOnlyCollection<string> types, IReadOnlyCollection<string> queues, CancellationToken cancellationToken)
    {
        var value = await Run(async ct =>
        {
            await using var command = _dataSource.CreateCommand(types.Count == 0 ? PostgresJobSql.NextRunAtOfQueues
                : queues.Count == 0 ? PostgresJobSql.NextRunAt : PostgresJobSql.NextRunAtInQueues);
            command.Parameters.Add(PostgresCommit.Parameter(types.Count == 0 ? queues.ToArray() : types.ToArray()));
            if (types.Count > 0 && queues.Count > 0)
            {
                command.Parameters.Add(PostgresCommit.Parameter(queues.ToArray()));
            }

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
        _reads.GetRunnersAsync(seenSince, cancellationToken);

    public Task RecordWorkersAsync(string instance, IReadOnlyList<WorkerSeen> workers, DateTimeOffset forgetBefore, CancellationToken cancellationToken) =>
        // Not job state, so not through the group-commit writer: a handful of idempotent upserts every few seconds.
        Run(async ct =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var batch = new NpgsqlBatch(connection);
            foreach (var row in workers)
            {
                batch.BatchCommands.Add(PostgresFlowLocks.Command(WorkerSql.Upsert(PostgresDialect.Instance, row)));
            }

            batch.BatchCommands.Add(PostgresFlowLocks.Command(WorkerSql.Forget(PostgresDialect.Instance, forgetBefore)));
            return await batch.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>
    /// Takes up to <paramref name="max"/> marked jobs (skipping those another instance is indexing) and writes their words, in
    /// one statement: the marks deleted and the words upserted commit together.
    /// </summary>
    public Task<int> IndexSearchAsync(int max, CancellationToken cancellationToken) =>
        Run(async ct =>
        {
            const string sql = """
                WITH batch AS (
                    DELETE FROM job_search_pending WHERE job_id IN (
                        SELECT job_id FROM job_search_pending ORDER BY job_id LIMIT $1 FOR UPDATE SKIP LOCKED)
                    RETURNING job_id),
                indexed AS (
                    INSERT INTO job_search (job_id, words)
                    SELECT j.id, jobkeeper_job_words(j.type, j.labels, j.input, j.result, j.error) FROM batch b JOIN jobs j ON j.id = b.job_id
                    ON CONFLICT (job_id) DO UPDATE SET words = excluded.words)
                SELECT COUNT(*)::int FROM batch
                """;
            await using var command = _dataSource.CreateCommand(sql);
            command.Parameters.Add(PostgresCommit.Parameter(max));
            return (int)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }, cancellationToken);

    public async Task<IReadOnlyList<WorkerSeen>> GetWorkersAsync(DateTimeOffset seenSince, CancellationToken cancellationToken) =>
        await _reads.GetWorkersAsync(seenSince, cancellationToken).ConfigureAwait(false);

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

    public Maintenance.IMaintenanceLock CreateMaintenanceLock() => new PostgresMaintenanceLock(_lockConnectionString);

    public Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken) => _reads.ListAsync(query, cancellationToken);

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

    public async Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        var byStatus = await _reads.CountByStatusAsync(cancellationToken).ConfigureAwait(false);
        var size = await Run(async ct =>
        {
            await using var bytes = _dataSource.CreateCommand(
                "SELECT pg_total_relation_size('jobs') + pg_total_relation_size('job_labels') + pg_total_relation_size('job_events')");
            return (long)(await bytes.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }, cancellationToken).ConfigureAwait(false);
        return new StoreStats("postgres", Description.Location, _schemaVersion, size, byStatus.Values.Sum(), byStatus);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_enlistedLoop is not null)
        {
            await _enlistedLoop.ConfigureAwait(false);
        }

        if (_flowWriter is not null)
        {
            await _flowWriter.DisposeAsync().ConfigureAwait(false);
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

    /// <summary>
    /// Writes a new job into the application's own open transaction (see <see cref="PostgresEnlisted"/>): it exists if and only
    /// if that transaction commits. False when its id is taken.
    /// </summary>
    internal Task<bool> EnlistAsync(NpgsqlTransaction transaction, JobInsert insert, CancellationToken cancellationToken) =>
        (_enlisted ?? throw NotOpen()).EnlistAsync(transaction, insert, EnlistedNotice, cancellationToken);

    private static readonly string EnlistedNotice = PostgresChangeNotice.Encode(PostgresChangeNotice.Enlisted, false, [], [])[0];

    private void SignalEnlisted()
    {
        if (_enlistedSignal.CurrentCount == 0)
        {
            try
            {
                _enlistedSignal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another notice got there first: the pass it starts records this one too.
            }
        }
    }

    /// <summary>
    /// Records the creation of jobs that applications' transactions committed: at start (what committed while no instance
    /// ran), when their notice arrives, after the listener reconnected (a notice may have been missed), and a second after
    /// a pass failed. Nothing is read while nothing was committed.
    /// </summary>
    private async Task RecordEnlistedAsync(CancellationToken cancellationToken)
    {
        var due = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (!due)
                {
                    await _enlistedSignal.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                due = false;
                while (await _enlisted!.FinishAsync(_dataSource, cancellationToken).ConfigureAwait(false) > 0)
                {
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogWarning("Recording jobs created in applications' transactions failed; trying again in a second: {Error}", ex.Message);
                due = true;
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Right after a commit, on the writer, before the writers are answered: this instance's observers, then its live streams.</summary>
    private void OnCommitted(PostgresCommit commit)
    {
        _observers.Publish(commit.Changes, eventsByFeed: true, _flow.Current);
        _listener?.CommittedHere(commit.LastEventId);
    }

    public Task<IReadOnlyList<QueueSettings>> GetQueueSettingsAsync(CancellationToken cancellationToken) =>
        _queueReads.GetSettingsAsync(cancellationToken);

    public async Task<IReadOnlyList<Schedule>> GetSchedulesAsync(ScheduleQuery query, CancellationToken cancellationToken) =>
        await ((ISqlReader)this).QueryAsync(ScheduleRows.Select(PostgresDialect.Instance, query), ScheduleRows.Read, cancellationToken).ConfigureAwait(false);

    /// <summary>On a connection of its own, outside the group commit: schedules change a few times a minute at most.</summary>
    public Task<bool> SaveScheduleAsync(Schedule? current, Schedule next, CancellationToken cancellationToken) =>
        Run(async ct =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            var written = await new PostgresFlowSession(connection)
                .QueryAsync(ScheduleRows.Save(PostgresDialect.Instance, next, current?.Version ?? 0), r => r.GetString(0), ct).ConfigureAwait(false);
            return written.Count == 1;
        }, cancellationToken);

    public Task<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken) =>
        Run(async ct =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            var deleted = await new PostgresFlowSession(connection)
                .QueryAsync(ScheduleRows.Delete(PostgresDialect.Instance, name), r => r.GetString(0), ct).ConfigureAwait(false);
            return deleted.Count == 1;
        }, cancellationToken);

    /// <summary>
    /// In a transaction of its own, not through the group commit (settings change rarely): holds the settings lock alone,
    /// so claims and inserts in flight on every instance finish first and the next ones see the change; stores the settings
    /// compare-and-set, repartitions the queue's unfinished jobs when the key changed, moves the epoch on and tells the
    /// other instances, whose waiting claims wake and read the settings again.
    /// </summary>
    public async Task<bool> SaveQueueSettingsAsync(QueueSettings? current, QueueSettings next, CancellationToken cancellationToken)
    {
        var saved = await Run(async ct =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            var session = new PostgresFlowSession(connection);
            await session.ExecuteAsync(new SqlQuery(PostgresFlowLocks.SettingsAlone, []), ct).ConfigureAwait(false);
            var written = await session.QueryAsync(QueueRows.Save(PostgresDialect.Instance, next, current?.Version ?? 0), r => r.GetString(0), ct)
                .ConfigureAwait(false);
            if (written.Count == 0)
            {
                await transaction.RollbackAsync(ct).ConfigureAwait(false);
                return false;
            }

            if (current?.Partition?.Key != next.Partition?.Key)
            {
                await session.ExecuteAsync(QueueRows.Repartition(PostgresDialect.Instance, next.Name), ct).ConfigureAwait(false);
            }

            await session.ExecuteAsync(new SqlQuery(PostgresFlowLocks.NextEpoch, []), ct).ConfigureAwait(false);
            foreach (var payload in PostgresChangeNotice.Encode(_instance, false, [Workers.JobSignals.AnyType], []))
            {
                await session.ExecuteAsync(new SqlQuery(PostgresJobSql.Notify, [new("$1", _options.Channel), new("$2", payload)]), ct).ConfigureAwait(false);
            }

            var snapshot = await PostgresFlowLocks.LoadAsync(connection, ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            _flow.Set(snapshot);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (saved)
        {
            _observers.ChangedElsewhere([], [Workers.JobSignals.AnyType]);
        }

        return saved;
    }

    public Task<IReadOnlyList<QueueStats>> GetQueueStatsAsync(string? queue, DateTimeOffset now, CancellationToken cancellationToken) =>
        _queueReads.GetStatsAsync(queue, now, cancellationToken);

    // The reads go through this store's ISqlReader, which already turns an unreachable server into StoreUnavailableException.
    public ValueTask<string?> GetBlockedByAsync(Job job, DateTimeOffset now, CancellationToken cancellationToken) =>
        _flow.Current.HoldingBackOf(job) is { } queue
            ? QueueFlow.BlockedByAsync(new ReadingFlowSession(PostgresDialect.Instance, this), queue, job, now, cancellationToken)
            : ValueTask.FromResult<string?>(null);

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

    private async Task<IReadOnlyList<Job>> QueryJobsAsync(string sql, object[] values, CancellationToken cancellationToken) =>
        await QueryAsync(sql, values, JobColumns.Read, cancellationToken).ConfigureAwait(false);

    Task<List<T>> ISqlReader.QueryAsync<T>(SqlQuery query, Func<DbDataReader, T> read, CancellationToken cancellationToken) =>
        QueryAsync(query.Text, query.Parameters.Select(p => p.Value).ToArray(), read, cancellationToken);

    /// <summary>Runs a query with positional parameters on a pooled connection and reads each row.</summary>
    private Task<List<T>> QueryAsync<T>(string sql, object[] values, Func<DbDataReader, T> read, CancellationToken cancellationToken) =>
        Run(async ct =>
        {
            await using var command = _dataSource.CreateCommand(sql);
            foreach (var value in values)
            {
                command.Parameters.Add(PostgresCommit.Parameter(value));
            }

            var rows = new List<T>();
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                rows.Add(read(reader));
            }

            return rows;
        }, cancellationToken);

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

    /// <summary>Queues a write on <paramref name="writer"/>, or on the shared writers.</summary>
    private Task<T> Write<T>(PostgresWriteOp<T> op, GroupCommitWriter<IPostgresWriteOp>? writer = null)
    {
        (writer ?? _writer ?? throw NotOpen()).Enqueue(op);
        return op.Task;
    }

    private static InvalidOperationException NotOpen() =>
        new("The PostgreSQL store is not open: InitializeAsync must run first (the Jobkeeper hosted service does this at start-up).");

    /// <summary>Where the data lives, without the password.</summary>
    private static string Describe(NpgsqlConnectionStringBuilder builder) =>
        $"{builder.Host}:{builder.Port}/{builder.Database}";
}
