using System.Data.Common;
using Jobkeeper.Model;
using Jobkeeper.Relational;
using Jobkeeper.Storage;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Sqlite;

/// <summary>One read connection with its prepared statements; lent out by <see cref="SqliteReaderPool"/> to one caller at a time.</summary>
internal sealed class SqliteReader : IDisposable
{
    private const int MaxCachedQueries = 64;

    private static readonly string EventSelectList = JobColumns.EventSelectList("e");

    // The status after each event is stored with it (events written before schema 4 fall back to the job's current status).
    private static readonly string FeedSelect =
        $"SELECT {EventSelectList}, j.type, COALESCE(e.job_status, j.status) FROM job_events e JOIN jobs j ON j.id = e.job_id WHERE e.id > $after";

    private static readonly string Feed = FeedSelect + " ORDER BY e.id LIMIT $limit";

    private static readonly string JobFeed = FeedSelect + " AND e.job_id = $job ORDER BY e.job_id, e.id LIMIT $limit";

    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _getJob;
    private readonly SqliteCommand _getEvents;
    private readonly Dictionary<string, SqliteCommand> _queries = new(StringComparer.Ordinal);

    public SqliteReader(SqliteConnection connection)
    {
        _connection = connection;
        _getJob = SqliteConnections.Prepare(connection, $"SELECT {SqliteJobColumns.SelectList} FROM jobs j WHERE j.id = $id");
        _getJob.Parameters.Add(new SqliteParameter { ParameterName = "$id" });
        _getEvents = SqliteConnections.Prepare(connection,
            $"SELECT {EventSelectList} FROM job_events e WHERE e.job_id = $job_id AND e.id > $after ORDER BY e.id LIMIT $limit");
        foreach (var name in new[] { "$job_id", "$after", "$limit" })
        {
            _getEvents.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
    }

    public SqliteConnection Connection => _connection;

    public Job? GetJob(string id)
    {
        _getJob.Parameters[0].Value = id;
        using var reader = _getJob.ExecuteReader();
        return reader.Read() ? JobColumns.Read(reader) : null;
    }

    public List<JobEvent> GetEvents(string jobId, long afterId, int limit)
    {
        var p = _getEvents.Parameters;
        p[0].Value = jobId;
        p[1].Value = afterId;
        p[2].Value = limit;
        var events = new List<JobEvent>();
        using var reader = _getEvents.ExecuteReader();
        while (reader.Read())
        {
            events.Add(ReadEvent(reader));
        }

        return events;
    }

    private static JobEvent ReadEvent(SqliteDataReader reader) => JobColumns.ReadEvent(reader);

    /// <summary>Events of all jobs after an id, with their job's type and status (the feed of live streams).</summary>
    public List<FeedEvent> GetFeed(long afterId, int limit, string? jobId)
    {
        var command = jobId is null
            ? Command(Feed, [new("$after", afterId), new("$limit", limit)])
            : Command(JobFeed, [new("$after", afterId), new("$limit", limit), new("$job", jobId)]);
        var feed = new List<FeedEvent>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            feed.Add(new FeedEvent(ReadEvent(reader), reader.GetString(JobColumns.EventColumnCount), JobColumns.ReadStatus(reader, JobColumns.EventColumnCount + 1)));
        }

        return feed;
    }

    /// <summary>Runs a generated query (its text depends only on which filters are present, so it is prepared once).</summary>
    public List<T> Query<T>(SqlQuery query, Func<DbDataReader, T> read)
    {
        var command = Command(query.Text, query.Parameters);
        var rows = new List<T>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>Runs a generated query that returns one value (null when it is SQL NULL).</summary>
    public object? QueryScalar(string sql, IReadOnlyList<KeyValuePair<string, object>> parameters)
    {
        var value = Command(sql, parameters).ExecuteScalar();
        return value is DBNull ? null : value;
    }

    private SqliteCommand Command(string sql, IReadOnlyList<KeyValuePair<string, object>> parameters)
    {
        if (!_queries.TryGetValue(sql, out var command))
        {
            if (_queries.Count >= MaxCachedQueries)
            {
                foreach (var old in _queries.Values)
                {
                    old.Dispose();
                }

                _queries.Clear();
            }

            command = SqliteConnections.Prepare(_connection, sql);
            _queries[sql] = command;
        }

        command.Parameters.Clear();
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }

    public void Dispose()
    {
        _getJob.Dispose();
        _getEvents.Dispose();
        foreach (var command in _queries.Values)
        {
            command.Dispose();
        }

        _connection.Dispose();
    }
}
