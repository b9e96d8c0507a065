using Jobkeeper.Model;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Sqlite;

/// <summary>The single write connection and its prepared statements. Used only by the writer loop.</summary>
internal sealed class SqliteWriteSession : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly SqliteCommand _rollback;
    private readonly SqliteCommand _insertJob;
    private readonly SqliteCommand _updateJob;
    private readonly SqliteCommand _updateJobAndLabels;
    private readonly SqliteCommand _selectClaimable;
    private readonly SqliteCommand _deleteJob;
    private readonly SqliteCommand _insertLabel;
    private readonly SqliteCommand _deleteLabels;
    private readonly SqliteCommand _insertEvent;
    private readonly SqliteCommand _deleteEvents;
    private readonly SqliteCommand _selectTerminal;

    // Event ids are handed out here (there is one writer), so an insert needs no RETURNING round trip.
    private long _nextEventId;
    private long _nextEventIdAtBegin;

    public SqliteWriteSession(SqliteConnection connection)
    {
        _connection = connection;
        _begin = SqliteConnections.Prepare(connection, "BEGIN IMMEDIATE");
        _commit = SqliteConnections.Prepare(connection, "COMMIT");
        _rollback = SqliteConnections.Prepare(connection, "ROLLBACK");

        _insertJob = SqliteConnections.Prepare(connection,
            $"INSERT INTO jobs ({SqliteJobColumns.InsertColumns}) VALUES ({SqliteJobColumns.InsertValues}) ON CONFLICT (id) DO NOTHING");
        SqliteJobColumns.AddInsertParameters(_insertJob);

        _updateJob = PrepareUpdate(connection, withLabels: false);
        _updateJobAndLabels = PrepareUpdate(connection, withLabels: true);

        // Uses ix_jobs_claim: one type's due queued jobs, already in claim order.
        _selectClaimable = SqliteConnections.Prepare(connection,
            $"SELECT {SqliteJobColumns.SelectList} FROM jobs j INDEXED BY ix_jobs_claim WHERE j.status = 'queued' AND j.type = $type AND j.run_at_us <= $now " +
            "ORDER BY j.priority DESC, j.run_at_us, j.id LIMIT $limit");
        foreach (var name in new[] { "$type", "$now", "$limit" })
        {
            _selectClaimable.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        _deleteJob = SqliteConnections.Prepare(connection, "DELETE FROM jobs WHERE id = $id");
        _deleteJob.Parameters.Add(new SqliteParameter { ParameterName = "$id" });

        _insertLabel = SqliteConnections.Prepare(connection,
            "INSERT INTO job_labels (job_id, key, value, created_us) VALUES ($job_id, $key, $value, $created_us)");
        foreach (var name in new[] { "$job_id", "$key", "$value", "$created_us" })
        {
            _insertLabel.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        _deleteLabels = SqliteConnections.Prepare(connection, "DELETE FROM job_labels WHERE job_id = $job_id");
        _deleteLabels.Parameters.Add(new SqliteParameter { ParameterName = "$job_id" });

        _insertEvent = SqliteConnections.Prepare(connection,
            "INSERT INTO job_events (id, job_id, type, at_us, actor, version, data) VALUES ($id, $job_id, $type, $at_us, $actor, $version, $data)");
        foreach (var name in new[] { "$id", "$job_id", "$type", "$at_us", "$actor", "$version", "$data" })
        {
            _insertEvent.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        _deleteEvents = SqliteConnections.Prepare(connection, "DELETE FROM job_events WHERE job_id = $job_id");
        _deleteEvents.Parameters.Add(new SqliteParameter { ParameterName = "$job_id" });

        _selectTerminal = SqliteConnections.Prepare(connection,
            "SELECT id FROM jobs WHERE status IN ('completed', 'failed', 'cancelled') AND completed_us < $cutoff LIMIT $limit");
        _selectTerminal.Parameters.Add(new SqliteParameter { ParameterName = "$cutoff" });
        _selectTerminal.Parameters.Add(new SqliteParameter { ParameterName = "$limit" });

        using var maxEventId = SqliteConnections.Prepare(connection, "SELECT COALESCE(MAX(id), 0) FROM job_events");
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
        SqliteJobColumns.Bind(_insertJob, values);
        return _insertJob.ExecuteNonQuery() == 1;
    }

    /// <summary>Compare-and-set update of the state columns (and the labels column when <paramref name="withLabels"/>).</summary>
    public bool UpdateJob(string id, object[] values, long expectedVersion, bool withLabels)
    {
        var command = withLabels ? _updateJobAndLabels : _updateJob;
        SqliteJobColumns.Bind(command, values);
        command.Parameters[^2].Value = id;
        command.Parameters[^1].Value = expectedVersion;
        return command.ExecuteNonQuery() == 1;
    }

    /// <summary>Up to <paramref name="limit"/> due queued jobs of one type, in claim order.</summary>
    public void SelectClaimable(string type, long nowMicros, int limit, List<Job> into)
    {
        var p = _selectClaimable.Parameters;
        p[0].Value = type;
        p[1].Value = nowMicros;
        p[2].Value = limit;
        using var reader = _selectClaimable.ExecuteReader();
        while (reader.Read())
        {
            into.Add(SqliteJobColumns.Read(reader));
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

    public void InsertLabels(string jobId, IReadOnlyDictionary<string, string> labels, long createdMicros)
    {
        var p = _insertLabel.Parameters;
        foreach (var (key, value) in labels)
        {
            p[0].Value = jobId;
            p[1].Value = key;
            p[2].Value = value;
            p[3].Value = createdMicros;
            _insertLabel.ExecuteNonQuery();
        }
    }

    public void DeleteLabels(string jobId)
    {
        _deleteLabels.Parameters[0].Value = jobId;
        _deleteLabels.ExecuteNonQuery();
    }

    /// <summary>Appends an event and returns it with its store-assigned id.</summary>
    public JobEvent InsertEvent(JobEvent e, object data)
    {
        var id = _nextEventId;
        var p = _insertEvent.Parameters;
        p[0].Value = id;
        p[1].Value = e.JobId;
        p[2].Value = e.Type;
        p[3].Value = Storage.TimeMicros.From(e.At);
        p[4].Value = (object?)e.Actor ?? DBNull.Value;
        p[5].Value = e.Version;
        p[6].Value = data;
        _insertEvent.ExecuteNonQuery();
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

    private static SqliteCommand PrepareUpdate(SqliteConnection connection, bool withLabels)
    {
        var command = SqliteConnections.Prepare(connection,
            $"UPDATE jobs SET {SqliteJobColumns.UpdateAssignments(withLabels)} WHERE id = $id AND version = $expected");
        SqliteJobColumns.AddUpdateParameters(command, withLabels);
        command.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
        command.Parameters.Add(new SqliteParameter { ParameterName = "$expected" });
        return command;
    }

    public void Dispose()
    {
        foreach (var command in new[] { _begin, _commit, _rollback, _insertJob, _updateJob, _updateJobAndLabels, _selectClaimable, _deleteJob, _insertLabel, _deleteLabels, _insertEvent, _deleteEvents, _selectTerminal })
        {
            command.Dispose();
        }

        _connection.Dispose();
    }
}
