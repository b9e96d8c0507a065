using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Relational;
using Jobkeeper.Relational.Queues;
using Jobkeeper.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, one group-committing writer, a pool of readers. One process
/// at a time writes to a file (see <see cref="SqliteStoreLock"/>); read-only stores may open it beside that one.
/// </summary>
public sealed class SqliteJobStore : IJobStore
{
    private static readonly string NextRunAtSql =
        $"SELECT MIN(run_at_us) FROM jobs INDEXED BY ix_jobs_claim WHERE status = {StatusSql.Of(JobStatus.Queued)} AND type = $type";

    private static readonly string NextRunAtInQueueSql = NextRunAtSql + " AND queue = $queue";

    private static readonly string NextRunAtOfQueueSql =
        $"SELECT MIN(run_at_us) FROM jobs INDEXED BY ix_jobs_claim_queue WHERE status = {StatusSql.Of(JobStatus.Queued)} AND queue = $queue";

    private readonly SqliteStoreOptions _options;
    private readonly StoreObservers _observers;
    private readonly ILogger<SqliteJobStore> _logger;
    private readonly string _path;
    private readonly SqliteFaults _faults;
    private SqliteStoreLock? _lock;
    private readonly Telemetry.JobkeeperInstruments? _instruments;
    private GroupCommitWriter<ISqliteWriteOp>? _writer;
    private SqliteReaderPool? _readers;
    private RelationalReads? _reads;
    private QueueReads? _queueReads;
    private readonly QueueFlowState _flow = new();
    private SqliteCheckpointer? _checkpointer;
    private int _schemaVersion;
    private int _disposed;

    /// <param name="instruments">Where commits are recorded (batch size, duration); none when null.</param>
    public SqliteJobStore(SqliteStoreOptions options, IEnumerable<IJobStoreObserver> observers, ILogger<SqliteJobStore> logger,
        Telemetry.JobkeeperInstruments? instruments = null)
    {
        _options = options;
        _instruments = instruments;
        _observers = new StoreObservers(observers, logger);
        _logger = logger;
        _path = Path.GetFullPath(options.Path);
        _faults = new SqliteFaults(_path, logger);
        Description = new StoreDescription("sqlite", _path);
    }

    public StoreDescription Description { get; }

    /// <summary>
    /// Opens the file. For writing (the default) this process must be its only writer (<see cref="SqliteStoreLock"/>),
    /// the file must pass a bounded integrity check, and then pending migrations are applied; read-only it only reads.
    /// A database that cannot be opened, or is damaged, is refused with an error that names the file.
    /// </summary>
    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (_readers is not null)
        {
            return Task.CompletedTask;
        }

        try
        {
            if (_options.ReadOnly)
            {
                OpenReadOnly();
            }
            else
            {
                OpenForWriting();
            }
        }
        catch (SqliteException ex) when (SqliteFaults.IsDamage(ex))
        {
            throw new StoreCorruptException(_path, SqliteFaults.DamagedMessage(_path, ex.Message), ex);
        }
        catch (SqliteException ex)
        {
            throw new StoreUnavailableException($"The SQLite database {_path} could not be opened: {ex.Message}", ex);
        }

        return Task.CompletedTask;
    }

    private void OpenForWriting()
    {
        var directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        var fileLock = SqliteStoreLock.Acquire(_path, _options.Holder);
        SqliteConnection? connection = null;
        SqliteConnection? checkpoints = null;
        try
        {
            SqliteOwnerOnlyFile.Create(_path);
            connection = SqliteConnections.Open(_path, readOnly: false, _options.Durability);
            CheckIntegrity(connection);
            _schemaVersion = SqliteMigrations.Apply(connection, _logger);
            checkpoints = SqliteConnections.Open(_path, readOnly: false, _options.Durability);
            var session = new SqliteWriteSession(connection);
            _flow.Set(new QueueFlowSnapshot(session.Query(QueueRows.All(), QueueRows.Read), 0));
            _checkpointer = new SqliteCheckpointer(checkpoints, _faults, _logger);
            _writer = new GroupCommitWriter<ISqliteWriteOp>([new SqliteCommitter(session, _observers, _checkpointer, _faults, _flow)], _options.MaxBatchSize, _logger, _instruments);
            OpenReaders();
            _lock = fileLock;
        }
        catch
        {
            // Nothing after the writer can fail; before it, only the connections are open.
            if (_writer is null)
            {
                connection?.Dispose();
                checkpoints?.Dispose();
            }

            fileLock.Dispose();
            throw;
        }
    }

    /// <summary>Refuses a damaged file before anything is written to it; a file too large to check in time is checked in part.</summary>
    private void CheckIntegrity(SqliteConnection connection)
    {
        if (_options.StartupCheckTimeout <= TimeSpan.Zero)
        {
            return;
        }

        var result = SqliteIntegrity.QuickCheck(connection, _options.StartupCheckTimeout);
        switch (result.Verdict)
        {
            case IntegrityVerdict.Damaged:
                throw new StoreCorruptException(_path, SqliteFaults.DamagedMessage(_path, "quick_check: " + result.Problem));
            case IntegrityVerdict.Unfinished:
                _logger.LogWarning(
                    "Integrity check of {Path} stopped after {Seconds:0.0} s (StartupCheckTimeout) before the end of the file ({Size} bytes); " +
                    "what it checked was sound. Run 'jobkeeper check' for a full check",
                    _path, result.Elapsed.TotalSeconds, new FileInfo(_path).Length);
                break;
            default:
                _logger.LogInformation("Integrity check of {Path} (quick_check): ok in {Milliseconds:0} ms", _path, result.Elapsed.TotalMilliseconds);
                break;
        }
    }

    /// <summary>Reads an existing database beside its writer: nothing is created, locked, migrated or written.</summary>
    private void OpenReadOnly()
    {
        if (!File.Exists(_path))
        {
            throw new FileNotFoundException($"No SQLite database at {_path}.", _path);
        }

        using (var connection = SqliteConnections.Open(_path, readOnly: true, _options.Durability))
        {
            _schemaVersion = SqliteMigrations.CurrentVersion(connection);
        }

        if (_schemaVersion != SqliteMigrations.LatestVersion)
        {
            throw new InvalidOperationException(
                $"The database {_path} is at schema version {_schemaVersion}; this Jobkeeper reads version {SqliteMigrations.LatestVersion}. " +
                (_schemaVersion < SqliteMigrations.LatestVersion
                    ? "Open it for writing once (start the server on it) to upgrade it."
                    : "Upgrade Jobkeeper."));
        }

        OpenReaders();
    }

    private void OpenReaders()
    {
        _readers = new SqliteReaderPool(_options.ReadConnections,
            () => new SqliteReader(SqliteConnections.Open(_path, readOnly: true, _options.Durability)), _faults);
        _reads = new RelationalReads(SqliteDialect.Instance, _readers);
        _queueReads = new QueueReads(SqliteDialect.Instance, _readers);
    }

    public Task<bool> InsertAsync(Job job, JobEvent created, CancellationToken cancellationToken) =>
        Write(new InsertJobOp(job, created));

    public Task<InsertOutcome> InsertUniqueAsync(JobInsert insert, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(insert?.Unique, nameof(insert));
        return Write(new InsertUniqueJobOp(insert));
    }

    public Task<IReadOnlyList<InsertOutcome>> InsertManyAsync(IReadOnlyList<JobInsert> jobs, CancellationToken cancellationToken) =>
        Write(new InsertJobsOp(jobs));

    public Task<bool> ReplaceAsync(JobReplacement replacement, CancellationToken cancellationToken) =>
        Write(new ReplaceJobOp(replacement));

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        Write(new DeleteJobOp(id));

    public Task<IReadOnlyList<string>> DeleteTerminalBatchAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken) =>
        Write(new DeleteTerminalBatchOp(TimeMicros.From(cutoff), batchSize));

    public Task<IReadOnlyList<Job>> GetTerminalBatchAsync(DateTimeOffset cutoff, JobStatus? status, int limit, CancellationToken cancellationToken) =>
        Reads.GetTerminalBatchAsync(cutoff, status, limit, cancellationToken);

    public Task<IReadOnlyList<string>> DeleteTerminalAsync(IReadOnlyCollection<string> ids, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        Write(new DeleteTerminalJobsOp(ids, TimeMicros.From(cutoff)));

    public Task<IReadOnlyList<Job>> ClaimAsync(ClaimRequest request, Func<Job, JobReplacement> claim, CancellationToken cancellationToken) =>
        Write(new ClaimJobsOp(request, claim, _flow));

    public Task<IReadOnlyList<Job>> GetExpiredLeasesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        Reads.GetExpiredLeasesAsync(now, limit, cancellationToken);

    public Task<IReadOnlyList<Job>> GetExpiredPromptsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        Reads.GetExpiredPromptsAsync(now, limit, cancellationToken);

    public async Task<DateTimeOffset?> GetNextRunAtAsync(IReadOnlyCollection<string> types, IReadOnlyCollection<string> queues, CancellationToken cancellationToken)
    {
        // One probe per type, per type and queue, or (no types) per queue: the claim's own walks.
        IEnumerable<(string Sql, KeyValuePair<string, object>[] Parameters)> probes = types.Count == 0
            ? queues.Select(q => (NextRunAtOfQueueSql, new KeyValuePair<string, object>[] { new("$queue", q) }))
            : queues.Count == 0
                ? types.Select(t => (NextRunAtSql, new KeyValuePair<string, object>[] { new("$type", t) }))
                : types.SelectMany(t => queues.Select(q => (NextRunAtInQueueSql, new KeyValuePair<string, object>[] { new("$type", t), new("$queue", q) })));
        long? earliest = null;
        foreach (var (sql, parameters) in probes)
        {
            if (await Readers.ReadAsync(r => r.QueryScalar(sql, parameters), cancellationToken).ConfigureAwait(false) is long micros
                && (earliest is null || micros < earliest))
            {
                earliest = micros;
            }
        }

        return earliest is { } e ? TimeMicros.ToTimestamp(e) : null;
    }

    public Task RecordRunnersAsync(IReadOnlyDictionary<string, DateTimeOffset> seen, CancellationToken cancellationToken) =>
        seen.Count == 0 ? Task.CompletedTask : Write(new RecordRunnersOp(seen.Select(s => (s.Key, TimeMicros.From(s.Value))).ToArray()));

    public Task<IReadOnlyCollection<string>> GetRunnersAsync(DateTimeOffset seenSince, CancellationToken cancellationToken) =>
        Reads.GetRunnersAsync(seenSince, cancellationToken);

    public Task RecordWorkersAsync(string instance, IReadOnlyList<WorkerSeen> workers, DateTimeOffset forgetBefore, CancellationToken cancellationToken) =>
        Write(new RecordWorkersOp(workers, forgetBefore));

    public Task<int> IndexSearchAsync(int max, CancellationToken cancellationToken) => Write(new IndexSearchOp(max));

    public async Task<IReadOnlyList<WorkerSeen>> GetWorkersAsync(DateTimeOffset seenSince, CancellationToken cancellationToken) =>
        await Reads.GetWorkersAsync(seenSince, cancellationToken).ConfigureAwait(false);

    public Task<Job?> GetAsync(string id, CancellationToken cancellationToken) =>
        Readers.ReadAsync(r => r.GetJob(id), cancellationToken).AsTask();

    public Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken) => Reads.ListAsync(query, cancellationToken);

    public async Task<IReadOnlyList<JobEvent>> GetEventsAsync(string jobId, long afterId, int limit, CancellationToken cancellationToken) =>
        await Readers.ReadAsync(r => r.GetEvents(jobId, afterId, limit), cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<FeedEvent>> GetFeedAsync(long afterId, int limit, string? jobId, CancellationToken cancellationToken) =>
        await Readers.ReadAsync(r => r.GetFeed(afterId, limit, jobId), cancellationToken).ConfigureAwait(false);

    public async Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        // Health reads these: a store that met damage says so even when the counts could still be read.
        _faults.ThrowIfDamaged();
        var counts = await Reads.CountByStatusAsync(cancellationToken).ConfigureAwait(false);
        return new StoreStats("sqlite", _path, _schemaVersion, SqliteFiles.Size(_path), counts.Values.Sum(), counts);
    }

    public Task<IReadOnlyList<QueueSettings>> GetQueueSettingsAsync(CancellationToken cancellationToken) =>
        QueueReadsOrThrow.GetSettingsAsync(cancellationToken);

    public async Task<bool> SaveQueueSettingsAsync(QueueSettings? current, QueueSettings next, CancellationToken cancellationToken)
    {
        try
        {
            var saved = await Write(new SaveQueueSettingsOp(current, next, _flow)).ConfigureAwait(false);
            if (saved)
            {
                // Claims waiting for work may now find some (a resume, a limit raised).
                _observers.ChangedElsewhere([], [Workers.JobSignals.AnyType]);
            }

            return saved;
        }
        catch
        {
            // The settings in memory may have moved ahead of a write that did not commit: take them from the file again.
            _flow.Set(new QueueFlowSnapshot(await QueueReadsOrThrow.GetSettingsAsync(CancellationToken.None).ConfigureAwait(false), _flow.Current.Epoch + 1));
            throw;
        }
    }

    public async Task<IReadOnlyList<Schedule>> GetSchedulesAsync(ScheduleQuery query, CancellationToken cancellationToken) =>
        await Readers.QueryAsync(Relational.Schedules.ScheduleRows.Select(SqliteDialect.Instance, query), Relational.Schedules.ScheduleRows.Read,
            cancellationToken).ConfigureAwait(false);

    public Task<bool> SaveScheduleAsync(Schedule? current, Schedule next, CancellationToken cancellationToken) =>
        Write(new SaveScheduleOp(current, next));

    public Task<bool> DeleteScheduleAsync(string name, CancellationToken cancellationToken) =>
        Write(new DeleteScheduleOp(name));

    public Task<IReadOnlyList<QueueStats>> GetQueueStatsAsync(string? queue, DateTimeOffset now, CancellationToken cancellationToken) =>
        QueueReadsOrThrow.GetStatsAsync(queue, now, cancellationToken);

    public ValueTask<string?> GetBlockedByAsync(Job job, DateTimeOffset now, CancellationToken cancellationToken) =>
        _flow.Current.HoldingBackOf(job) is { } queue
            ? QueueFlow.BlockedByAsync(new ReadingFlowSession(SqliteDialect.Instance, Readers), queue, job, now, cancellationToken)
            : ValueTask.FromResult<string?>(null);

    private QueueReads QueueReadsOrThrow => _queueReads ?? throw new InvalidOperationException("The store is not initialized.");

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

        _readers?.Dispose();
        if (_checkpointer is not null)
        {
            await _checkpointer.DisposeAsync().ConfigureAwait(false);
        }

        // Last: the file is free for another writer only once everything of this one is closed.
        _lock?.Dispose();
    }

    /// <summary>Queues a write (refused once damage has been seen); its task completes after the commit.</summary>
    private Task<T> Write<T>(WriteOp<T> op)
    {
        var writer = _writer ?? throw (_readers is null ? NotOpen() : ReadOnly());
        _faults.ThrowIfDamaged();
        writer.Enqueue(op);
        return op.Task;
    }

    private SqliteReaderPool Readers => _readers ?? throw NotOpen();

    private RelationalReads Reads => _reads ?? throw NotOpen();

    private static InvalidOperationException NotOpen() =>
        new("The SQLite store is not open: InitializeAsync must run first (the Jobkeeper hosted service does this at start-up).");

    private InvalidOperationException ReadOnly() => new($"The SQLite store on {_path} is open read-only (SqliteStoreOptions.ReadOnly): it accepts no writes.");
}
