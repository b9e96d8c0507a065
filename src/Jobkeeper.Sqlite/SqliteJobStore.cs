using Jobkeeper.Errors;
using Jobkeeper.Model;
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
    private readonly SqliteStoreOptions _options;
    private readonly IJobStoreObserver[] _observers;
    private readonly ILogger<SqliteJobStore> _logger;
    private readonly string _path;
    private readonly SqliteFaults _faults;
    private SqliteStoreLock? _lock;
    private SqliteWriter? _writer;
    private SqliteReaderPool? _readers;
    private SqliteCheckpointer? _checkpointer;
    private int _schemaVersion;
    private int _disposed;

    public SqliteJobStore(SqliteStoreOptions options, IEnumerable<IJobStoreObserver> observers, ILogger<SqliteJobStore> logger)
    {
        _options = options;
        _observers = observers.ToArray();
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
            _checkpointer = new SqliteCheckpointer(checkpoints, _faults, _logger);
            _writer = new SqliteWriter(session, _observers, _options.MaxBatchSize, _checkpointer, _faults, _logger);
            _readers = new SqliteReaderPool(_options.ReadConnections,
                () => new SqliteReader(SqliteConnections.Open(_path, readOnly: true, _options.Durability)), _faults);
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
                    _path, result.Elapsed.TotalSeconds, FileSize(_path));
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

        _readers = new SqliteReaderPool(_options.ReadConnections,
            () => new SqliteReader(SqliteConnections.Open(_path, readOnly: true, _options.Durability)), _faults);
    }

    public Task<bool> InsertAsync(Job job, JobEvent created, CancellationToken cancellationToken) =>
        Writer.Enqueue(new InsertJobOp(job, created));

    public Task<bool> ReplaceAsync(JobReplacement replacement, CancellationToken cancellationToken) =>
        Writer.Enqueue(new ReplaceJobOp(replacement));

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken) =>
        Writer.Enqueue(new DeleteJobOp(id));

    public Task<IReadOnlyList<string>> DeleteTerminalBatchAsync(DateTimeOffset cutoff, int batchSize, CancellationToken cancellationToken) =>
        Writer.Enqueue(new DeleteTerminalBatchOp(TimeMicros.From(cutoff), batchSize));

    public async Task<IReadOnlyList<Job>> GetTerminalBatchAsync(DateTimeOffset cutoff, JobStatus? status, int limit, CancellationToken cancellationToken)
    {
        // Uses ix_jobs_terminal_completed, which holds finished jobs only.
        var sql = $"SELECT {SqliteJobColumns.SelectList} FROM jobs j INDEXED BY ix_jobs_terminal_completed " +
            "WHERE j.status IN ('completed', 'failed', 'cancelled') AND j.completed_us < $cutoff" +
            (status is null ? "" : " AND j.status = $status") + " ORDER BY j.completed_us, j.id LIMIT $limit";
        KeyValuePair<string, object>[] parameters = status is { } s
            ? [new("$cutoff", TimeMicros.From(cutoff)), new("$limit", limit), new("$status", s.ToName())]
            : [new("$cutoff", TimeMicros.From(cutoff)), new("$limit", limit)];
        return await Readers.ReadAsync(r => r.QueryJobs(sql, parameters), cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<string>> DeleteTerminalAsync(IReadOnlyCollection<string> ids, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        Writer.Enqueue(new DeleteTerminalJobsOp(ids, TimeMicros.From(cutoff)));

    public Task<IReadOnlyList<Job>> ClaimAsync(ClaimRequest request, Func<Job, JobReplacement> claim, CancellationToken cancellationToken) =>
        Writer.Enqueue(new ClaimJobsOp(request, claim));

    public async Task<IReadOnlyList<Job>> GetExpiredLeasesAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        // Uses ix_jobs_lease, which holds running jobs only.
        var sql = $"SELECT {SqliteJobColumns.SelectList} FROM jobs j INDEXED BY ix_jobs_lease WHERE j.status = 'running' AND j.lease_expires_us <= $now " +
            "ORDER BY j.lease_expires_us LIMIT $limit";
        KeyValuePair<string, object>[] parameters = [new("$now", TimeMicros.From(now)), new("$limit", limit)];
        return await Readers.ReadAsync(r => r.QueryJobs(sql, parameters), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Job>> GetExpiredPromptsAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        var sql = $"SELECT {SqliteJobColumns.SelectList} FROM jobs j INDEXED BY ix_jobs_prompt_expiry " +
            "WHERE j.status = 'waiting' AND j.prompt_expires_us <= $now ORDER BY j.prompt_expires_us LIMIT $limit";
        KeyValuePair<string, object>[] parameters = [new("$now", TimeMicros.From(now)), new("$limit", limit)];
        return await Readers.ReadAsync(r => r.QueryJobs(sql, parameters), cancellationToken).ConfigureAwait(false);
    }

    public async Task<DateTimeOffset?> GetNextRunAtAsync(IReadOnlyCollection<string> types, CancellationToken cancellationToken)
    {
        const string sql = "SELECT MIN(run_at_us) FROM jobs INDEXED BY ix_jobs_claim WHERE status = 'queued' AND type = $type";
        long? earliest = null;
        foreach (var type in types)
        {
            KeyValuePair<string, object>[] parameters = [new("$type", type)];
            if (await Readers.ReadAsync(r => r.QueryScalar(sql, parameters), cancellationToken).ConfigureAwait(false) is long micros
                && (earliest is null || micros < earliest))
            {
                earliest = micros;
            }
        }

        return earliest is { } e ? TimeMicros.ToTimestamp(e) : null;
    }

    public Task RecordRunnersAsync(IReadOnlyDictionary<string, DateTimeOffset> seen, CancellationToken cancellationToken) =>
        seen.Count == 0 ? Task.CompletedTask : Writer.Enqueue(new RecordRunnersOp(seen.Select(s => (s.Key, TimeMicros.From(s.Value))).ToArray()));

    public async Task<IReadOnlyCollection<string>> GetRunnersAsync(DateTimeOffset seenSince, CancellationToken cancellationToken) =>
        await Readers.ReadAsync(r =>
        {
            using var command = r.Connection.CreateCommand();
            command.CommandText = "SELECT type FROM job_runners WHERE seen_us >= $since";
            command.Parameters.AddWithValue("$since", TimeMicros.From(seenSince));
            var types = new HashSet<string>(StringComparer.Ordinal);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                types.Add(reader.GetString(0));
            }

            return types;
        }, cancellationToken).ConfigureAwait(false);

    public Task<Job?> GetAsync(string id, CancellationToken cancellationToken) =>
        Readers.ReadAsync(r => r.GetJob(id), cancellationToken).AsTask();

    public async Task<JobPage> ListAsync(JobQuery query, CancellationToken cancellationToken)
    {
        var take = query.Limit + 1;
        List<Job> rows;
        if (query.Statuses.Count > 1 && query.Labels.Count == 0)
        {
            // One index walk per status, merged: each walk stops after `take` rows instead of sorting all matches.
            rows = [];
            foreach (var status in query.Statuses.Distinct())
            {
                var (sql, parameters) = SqliteListQuery.Build(query, status, take);
                rows.AddRange(await Readers.ReadAsync(r => r.QueryJobs(sql, parameters), cancellationToken).ConfigureAwait(false));
            }

            rows.Sort(NewestFirst);
            if (rows.Count > take)
            {
                rows.RemoveRange(take, rows.Count - take);
            }
        }
        else
        {
            var (sql, parameters) = SqliteListQuery.Build(query, null, take);
            rows = await Readers.ReadAsync(r => r.QueryJobs(sql, parameters), cancellationToken).ConfigureAwait(false);
        }

        JobCursor? next = null;
        if (rows.Count > query.Limit)
        {
            rows.RemoveAt(rows.Count - 1);
            next = JobCursor.After(rows[^1]);
        }

        return new JobPage(rows, next);
    }

    public async Task<IReadOnlyList<JobEvent>> GetEventsAsync(string jobId, long afterId, int limit, CancellationToken cancellationToken) =>
        await Readers.ReadAsync(r => r.GetEvents(jobId, afterId, limit), cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<FeedEvent>> GetFeedAsync(long afterId, int limit, string? jobId, CancellationToken cancellationToken) =>
        await Readers.ReadAsync(r => r.GetFeed(afterId, limit, jobId), cancellationToken).ConfigureAwait(false);

    public async Task<StoreStats> GetStatsAsync(CancellationToken cancellationToken)
    {
        // Health reads these: a store that met damage says so even when the counts could still be read.
        _faults.ThrowIfDamaged();
        var counts = await Readers.ReadAsync(r =>
        {
            using var command = r.Connection.CreateCommand();
            command.CommandText = "SELECT status, COUNT(*) FROM jobs GROUP BY status";
            var byStatus = JobStatusNames.All.ToDictionary(s => s, _ => 0L);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (JobStatusNames.TryParse(reader.GetString(0), out var status))
                {
                    byStatus[status] = reader.GetInt64(1);
                }
            }

            return byStatus;
        }, cancellationToken).ConfigureAwait(false);

        var size = FileSize(_path) + FileSize(_path + "-wal");
        return new StoreStats("sqlite", _path, _schemaVersion, size, counts.Values.Sum(), counts);
    }

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

    private SqliteWriter Writer => _writer ?? throw (_readers is null ? NotOpen() : ReadOnly());

    private SqliteReaderPool Readers => _readers ?? throw NotOpen();

    private static InvalidOperationException NotOpen() =>
        new("The SQLite store is not open: InitializeAsync must run first (the Jobkeeper hosted service does this at start-up).");

    private InvalidOperationException ReadOnly() => new($"The SQLite store on {_path} is open read-only (SqliteStoreOptions.ReadOnly): it accepts no writes.");

    private static int NewestFirst(Job a, Job b)
    {
        var byTime = b.CreatedAt.CompareTo(a.CreatedAt);
        return byTime != 0 ? byTime : string.CompareOrdinal(b.Id, a.Id);
    }

    private static long FileSize(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;
}
