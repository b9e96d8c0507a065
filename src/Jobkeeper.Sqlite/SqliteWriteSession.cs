using Jobkeeper.Model;
using Jobkeeper.Relational;
using Jobkeeper.Storage;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Sqlite;

/// <summary>The single write connection and its prepared statements. Used only by the writer loop.</summary>
internal sealed class SqliteWriteSession : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly SqliteCommand _rollback;
    private readonly SqliteHotStatement _insertJob;
    private readonly SqliteHotStatement _updateJob;
    private readonly SqliteHotStatement _updateJobAndLabels;
    private readonly SqliteCommand _selectClaimable;
    private readonly SqliteCommand _selectClaimableInQueue;
    private readonly SqliteCommand _selectClaimableOfQueue;
    private readonly SqliteCommand _deleteJob;
    private readonly SqliteHotStatement _insertLabel;
    private readonly SqliteCommand _deleteLabels;
    private readonly SqliteHotStatement _insertEvent;
    private readonly SqliteCommand _deleteEvents;
    private readonly SqliteCommand _selectTerminal;
    private readonly SqliteCommand _deleteTerminalJob;

    private const int MaxCachedStatements = 256;
    private readonly Dictionary<string, SqliteCommand> _statements = new(StringComparer.Ordinal);

    // Event ids are handed out here (there is one writer), so an insert needs no RETURNING round trip.
    private long _nextEventId;
    private long _nextEventIdAtBegin;

    public SqliteWriteSession(SqliteConnection connection)
    {
        _connection = connection;
        _begin = SqliteConnections.Prepare(connection, "BEGIN IMMEDIATE");
        _commit = SqliteConnections.Prepare(connection, "COMMIT");
        _rollback = SqliteConnections.Prepare(connection, "ROLLBACK");

        _insertJob = new SqliteHotStatement(connection,
            $"INSERT INTO jobs ({SqliteJobColumns.InsertColumns}, partition_key) VALUES ({SqliteJobColumns.InsertValues}, " +
            $"{SqliteDialect.Instance.PartitionKeyOf("$type", "$labels", "$queue")}) ON CONFLICT (id) DO NOTHING",
            SqliteJobColumns.InsertParameters);

        _updateJob = PrepareUpdate(connection, withLabels: false);
        _updateJobAndLabels = PrepareUpdate(connection, withLabels: true);

        // Uses ix_jobs_claim: one type's due queued jobs, already in claim order.
        _selectClaimable = SqliteConnections.Prepare(connection,
            $"SELECT {SqliteJobColumns.SelectList} FROM jobs j INDEXED BY ix_jobs_claim WHERE j.status = {StatusSql.Of(JobStatus.Queued)} AND j.type = $type AND j.run_at_us <= $now " +
            "ORDER BY j.priority DESC, j.run_at_us, j.id LIMIT $limit");
        foreach (var name in new[] { "$type", "$now", "$limit" })
        {
            _selectClaimable.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        // One type's due queued jobs in one queue: the type's claim order, the other queues' rows passed over.
        _selectClaimableInQueue = SqliteConnections.Prepare(connection,
            $"SELECT {SqliteJobColumns.SelectList} FROM jobs j INDEXED BY ix_jobs_claim WHERE j.status = {StatusSql.Of(JobStatus.Queued)} AND j.type = $type AND j.run_at_us <= $now " +
            "AND j.queue = $queue ORDER BY j.priority DESC, j.run_at_us, j.id LIMIT $limit");
        foreach (var name in new[] { "$type", "$now", "$limit", "$queue" })
        {
            _selectClaimableInQueue.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        // Uses ix_jobs_claim_queue: one queue's due queued jobs of every type, already in claim order.
        _selectClaimableOfQueue = SqliteConnections.Prepare(connection,
            $"SELECT {SqliteJobColumns.SelectList} FROM jobs j INDEXED BY ix_jobs_claim_queue WHERE j.status = {StatusSql.Of(JobStatus.Queued)} AND j.queue = $queue " +
            "AND j.run_at_us <= $now ORDER BY j.priority DESC, j.run_at_us, j.id LIMIT $limit");
        foreach (var name in new[] { "$queue", "$now", "$limit" })
        {
            _selectClaimableOfQueue.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        _deleteJob = SqliteConnections.Prepare(connection, "DELETE FROM jobs WHERE id = $id");
        _deleteJob.Parameters.Add(new SqliteParameter { ParameterName = "$id" });

        _insertLabel = new SqliteHotStatement(connection,
            "INSERT INTO job_labels (job_id, key, value, created_us) VALUES ($job_id, $key, $value, $created_us)",
            ["$job_id", "$key", "$value", "$created_us"]);

        _deleteLabels = SqliteConnections.Prepare(connection, "DELETE FROM job_labels WHERE job_id = $job_id");
        _deleteLabels.Parameters.Add(new SqliteParameter { ParameterName = "$job_id" });

        _insertEvent = new SqliteHotStatement(connection,
            "INSERT INTO job_events (id, job_id, type, at_us, actor, version, data, job_status, display_name, reason) "
            + "VALUES ($id, $job_id, $type, $at_us, $actor, $version, $data, $job_status, $display_name, $reason)",
            ["$id", "$job_id", "$type", "$at_us", "$actor", "$version", "$data", "$job_status", "$display_name", "$reason"]);

        _deleteEvents = SqliteConnections.Prepare(connection, "DELETE FROM job_events WHERE job_id = $job_id");
        _deleteEvents.Parameters.Add(new SqliteParameter { ParameterName = "$job_id" });

        _selectTerminal = SqliteConnections.Prepare(connection,
            $"SELECT id FROM jobs WHERE status IN {StatusSql.Terminal} AND completed_us < $cutoff LIMIT $limit");
        _selectTerminal.Parameters.Add(new SqliteParameter { ParameterName = "$cutoff" });
        _selectTerminal.Parameters.Add(new SqliteParameter { ParameterName = "$limit" });

        _deleteTerminalJob = SqliteConnections.Prepare(connection,
            $"DELETE FROM jobs WHERE id = $id AND status IN {StatusSql.Terminal} AND completed_us < $cutoff");
        _deleteTerminalJob.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
        _deleteTerminalJob.Parameters.Add(new SqliteParameter { ParameterName = "$cutoff" });

        // The highest id ever given (sqlite_sequence survives deletes), so an id is never handed out twice.
        using var maxEventId = SqliteConnections.Prepare(connection,
            "SELECT MAX(COALESCE((SELECT MAX(id) FROM job_events), 0), COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'job_events'), 0))");
        _nextEventId = (long)maxEventId.ExecuteScalar()! + 1;
    }

    public void Begin()
    {
        _begin.ExecuteNonQuery();
        _nextEventIdAtBegin = _nextEventId;
    }

    public void Commit() => _commit.ExecuteNonQuery();

    public void Rollback()
    {
        _nextEventId = _nextEventIdAtBegin;
        try
        {
            _rollback.ExecuteNonQuery();
        }
        catch (SqliteException)
        {
            // No transaction was open (SQLite already rolled back after the error).
        }
    }

    public bool InsertJob(object[] values)
    {
        _insertJob.Bind(values);
        return _insertJob.Execute() == 1;
    }

    /// <summary>Compare-and-set update of the state columns (and the labels column when <paramref name="withLabels"/>).</summary>
    public bool UpdateJob(string id, object[] values, long expectedVersion, bool withLabels)
    {
        var statement = withLabels ? _updateJobAndLabels : _updateJob;
        statement.Bind(values);
        statement.Bind(values.Length, id);
        statement.Bind(values.Length + 1, expectedVersion);
        return statement.Execute() == 1;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> due queued jobs, in claim order: of one type (in one queue when <paramref name="queue"/>
    /// is given), or with no type, of every type in <paramref name="queue"/>.
    /// </summary>
    public void SelectClaimable(string? type, string? queue, long nowMicros, int limit, List<Job> into)
    {
        var command = type is null ? _selectClaimableOfQueue : queue is null ? _selectClaimable : _selectClaimableInQueue;
        var p = command.Parameters;
        p[0].Value = type ?? queue;
        p[1].Value = nowMicros;
        p[2].Value = limit;
        if (type is not null && queue is not null)
        {
            p[3].Value = queue;
        }

        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            into.Add(JobColumns.Read(reader));
        }
    }

    public bool DeleteJob(string id)
    {
        _deleteJob.Parameters[0].Value = id;
        if (_deleteJob.ExecuteNonQuery() != 1)
        {
            return false;
        }

        DeleteLabels(id);
        _deleteEvents.Parameters[0].Value = id;
        _deleteEvents.ExecuteNonQuery();
        return true;
    }

    /// <summary>Deletes a job with its labels and events only while it is terminal and completed before the cutoff.</summary>
    public bool DeleteTerminalJob(string id, long cutoffMicros)
    {
        _deleteTerminalJob.Parameters[0].Value = id;
        _deleteTerminalJob.Parameters[1].Value = cutoffMicros;
        if (_deleteTerminalJob.ExecuteNonQuery() != 1)
        {
            return false;
        }

        DeleteLabels(id);
        _deleteEvents.Parameters[0].Value = id;
        _deleteEvents.ExecuteNonQuery();
        return true;
    }

    public void InsertLabels(string jobId, IReadOnlyDictionary<string, string> labels, long createdMicros)
    {
        foreach (var (key, value) in labels)
        {
            _insertLabel.Bind(0, jobId);
            _insertLabel.Bind(1, key);
            _insertLabel.Bind(2, value);
            _insertLabel.Bind(3, createdMicros);
            _insertLabel.Execute();
        }
    }

    public void DeleteLabels(string jobId)
    {
        _deleteLabels.Parameters[0].Value = jobId;
        _deleteLabels.ExecuteNonQuery();
    }

    /// <summary>Appends an event and returns it with its store-assigned id.</summary>
    public JobEvent InsertEvent(JobEvent e, object data, JobStatus jobStatus)
    {
        var id = _nextEventId;
        _insertEvent.Bind(0, id);
        _insertEvent.Bind(1, e.JobId);
        _insertEvent.Bind(2, e.Type);
        _insertEvent.Bind(3, TimeMicros.From(e.At));
        _insertEvent.Bind(4, e.Actor);
        _insertEvent.Bind(5, e.Version);
        _insertEvent.Bind(6, data);
        _insertEvent.Bind(7, jobStatus.ToName());
        _insertEvent.Bind(8, e.DisplayName);
        _insertEvent.Bind(9, e.Reason);
        _insertEvent.Execute();
        _nextEventId = id + 1;
        return e with { Id = id };
    }

    public List<string> SelectTerminal(long cutoffMicros, int limit)
    {
        _selectTerminal.Parameters[0].Value = cutoffMicros;
        _selectTerminal.Parameters[1].Value = limit;
        var ids = new List<string>(limit);
        using var reader = _selectTerminal.ExecuteReader();
        while (reader.Read())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    /// <summary>Runs a shared statement (flow control, queue settings) on the write connection, inside the open transaction.</summary>
    public List<T> Query<T>(SqlQuery query, Func<System.Data.Common.DbDataReader, T> read)
    {
        var command = Command(query, out var cached);
        try
        {
            using var reader = command.ExecuteReader();
            var rows = new List<T>();
            while (reader.Read())
            {
                rows.Add(read(reader));
            }

            return rows;
        }
        finally
        {
            if (!cached)
            {
                command.Dispose();
            }
        }
    }

    public int Execute(SqlQuery query)
    {
        var command = Command(query, out var cached);
        try
        {
            return command.ExecuteNonQuery();
        }
        finally
        {
            if (!cached)
            {
                command.Dispose();
            }
        }
    }

    /// <summary>
    /// The statement prepared once per text and kept (flow control's few shapes run on every claim of a limited queue); its
    /// values bound anew each time. Past <see cref="MaxCachedStatements"/> texts, statements are made per call.
    /// </summary>
    private SqliteCommand Command(SqlQuery query, out bool cached)
    {
        if (_statements.TryGetValue(query.Text, out var command))
        {
            foreach (var (name, value) in query.Parameters)
            {
                command.Parameters[name].Value = value;
            }

            cached = true;
            return command;
        }

        command = _connection.CreateCommand();
        command.CommandText = query.Text;
        foreach (var (name, value) in query.Parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        cached = _statements.Count < MaxCachedStatements;
        if (cached)
        {
            command.Prepare();
            _statements[query.Text] = command;
        }

        return command;
    }

    /// <summary>Records that something runs <paramref name="type"/> as of <paramref name="seenMicros"/> (never moves the time back).</summary>
    public void RecordRunner(string type, long seenMicros)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "INSERT INTO job_runners (type, seen_us) VALUES ($type, $seen) " +
            "ON CONFLICT (type) DO UPDATE SET seen_us = MAX(seen_us, excluded.seen_us)";
        command.Parameters.AddWithValue("$type", type);
        command.Parameters.AddWithValue("$seen", seenMicros);
        command.ExecuteNonQuery();
    }

    private static SqliteHotStatement PrepareUpdate(SqliteConnection connection, bool withLabels) =>
        new(connection, $"UPDATE jobs SET {SqliteJobColumns.UpdateAssignments(withLabels)} WHERE id = $id AND version = $expected",
            [.. SqliteJobColumns.UpdateParameters(withLabels), "$id", "$expected"]);

    public void Dispose()
    {
        foreach (var command in new[] { _begin, _commit, _rollback, _selectClaimable, _selectClaimableInQueue, _selectClaimableOfQueue, _deleteJob, _deleteLabels, _deleteEvents, _selectTerminal, _deleteTerminalJob })
        {
            command.Dispose();
        }

        foreach (var statement in new[] { _insertJob, _updateJob, _updateJobAndLabels, _insertLabel, _insertEvent })
        {
            statement.Dispose();
        }

        foreach (var command in _statements.Values)
        {
            command.Dispose();
        }

        _connection.Dispose();
    }
}
