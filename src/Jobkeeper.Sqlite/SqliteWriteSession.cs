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
        SqliteJobColumns.AddParameters(_insertJob);

        _updateJob = SqliteConnections.Prepare(connection,
            $"UPDATE jobs SET {SqliteJobColumns.UpdateAssignments} WHERE id = $id AND version = $expected");
        SqliteJobColumns.AddParameters(_updateJob);
        _updateJob.Parameters.Add(new SqliteParameter { ParameterName = "$expected" });

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

    public bool UpdateJob(object[] values, long expectedVersion)
    {
        SqliteJobColumns.Bind(_updateJob, values);
        _updateJob.Parameters[^1].Value = expectedVersion;
        return _updateJob.ExecuteNonQuery() == 1;
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

    public void Dispose()
    {
        foreach (var command in new[] { _begin, _commit, _rollback, _insertJob, _updateJob, _deleteJob, _insertLabel, _deleteLabels, _insertEvent, _deleteEvents, _selectTerminal })
        {
            command.Dispose();
        }

        _connection.Dispose();
    }
}
