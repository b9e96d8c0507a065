using System.Text.Json;
using Jobkeeper.Storage;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Benchmarks.Harness;

/// <summary>
/// The baseline: Microsoft.Data.Sqlite used directly on the same schema (created by the real store's
/// migrations), with the store's write pragmas (WAL, synchronous=NORMAL, 64 MiB cache), prepared statements,
/// on the calling thread. A "job" is the same rows the store writes: the job row, its two label rows and its
/// creation event.
/// </summary>
public sealed class RawSqlite : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly SqliteCommand _insertJob;
    private readonly SqliteCommand _insertLabel;
    private readonly SqliteCommand _insertEvent;
    private readonly SqliteCommand _getJob;

    private RawSqlite(SqliteConnection connection)
    {
        _connection = connection;
        _begin = Command("BEGIN IMMEDIATE");
        _commit = Command("COMMIT");
        _insertJob = Command(
            "INSERT INTO jobs (id, type, status, priority, input, labels, progress, result, error, attempt, max_attempts, " +
            "created_us, updated_us, started_us, completed_us, run_at_us, lease_owner, lease_expires_us, lease_token, version) " +
            "VALUES ($id, $type, 'queued', 0, $input, $labels, NULL, NULL, NULL, 0, 3, $now, $now, NULL, NULL, $now, NULL, NULL, NULL, 1) " +
            "ON CONFLICT (id) DO NOTHING",
            "$id", "$type", "$input", "$labels", "$now");
        _insertLabel = Command("INSERT INTO job_labels (job_id, key, value, created_us) VALUES ($job_id, $key, $value, $now)",
            "$job_id", "$key", "$value", "$now");
        _insertEvent = Command("INSERT INTO job_events (job_id, type, at_us, actor, version, data) VALUES ($job_id, 'created', $now, 'app', 1, NULL) RETURNING id",
            "$job_id", "$now");
        _getJob = Command(
            "SELECT j.id, j.type, j.status, j.priority, j.input, j.labels, j.progress, j.result, j.error, j.attempt, j.max_attempts, " +
            "j.created_us, j.updated_us, j.started_us, j.completed_us, j.run_at_us, j.lease_owner, j.lease_expires_us, j.lease_token, j.version " +
            "FROM jobs j WHERE j.id = $id", "$id");
    }

    public SqliteConnection Connection => _connection;

    /// <summary>Creates the Jobkeeper schema at <paramref name="path"/> by opening (and closing) the real store there.</summary>
    public static async Task CreateSchemaAsync(string path)
    {
        BenchPaths.DeleteDatabase(path);
        await using var host = await JobkeeperHost.StartAsync(path).ConfigureAwait(false);
    }

    public static RawSqlite Open(string path, bool readOnly = false)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        connection.Open();
        using (var pragmas = connection.CreateCommand())
        {
            pragmas.CommandText = readOnly
                ? "PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY;"
                : "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;";
            pragmas.ExecuteNonQuery();
        }

        return new RawSqlite(connection);
    }

    public void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Begin() => _begin.ExecuteNonQuery();

    public void Commit() => _commit.ExecuteNonQuery();

    /// <summary>Inserts one job the way the store does (job row, 2 label rows, creation event), values built here.</summary>
    public void InsertJob(long i) => InsertJob(i, labelRows: true, eventRow: true);

    /// <summary>As <see cref="InsertJob(long)"/>, optionally without the label rows or the event (for the schema experiments).</summary>
    public void InsertJob(long i, bool labelRows, bool eventRow)
    {
        var id = Guid.CreateVersion7().ToString("D");
        var now = TimeMicros.From(DateTimeOffset.UtcNow);
        var labels = SampleJobs.Labels(i);
        var p = _insertJob.Parameters;
        p[0].Value = id;
        p[1].Value = SampleJobs.Types[i % SampleJobs.Types.Length];
        p[2].Value = SampleJobs.Input.GetRawText();
        p[3].Value = JsonSerializer.Serialize(labels, RawJsonContext.Default.DictionaryStringString);
        p[4].Value = now;
        _insertJob.ExecuteNonQuery();

        var l = _insertLabel.Parameters;
        foreach (var (key, value) in labelRows ? labels : [])
        {
            l[0].Value = id;
            l[1].Value = key;
            l[2].Value = value;
            l[3].Value = now;
            _insertLabel.ExecuteNonQuery();
        }

        if (eventRow)
        {
            _insertEvent.Parameters[0].Value = id;
            _insertEvent.Parameters[1].Value = now;
            _insertEvent.ExecuteScalar();
        }
    }

    /// <summary>Reads every column of one job by id (no object built): the floor under <c>IJobStore.GetAsync</c>.</summary>
    public long GetJob(string id)
    {
        _getJob.Parameters[0].Value = id;
        using var reader = _getJob.ExecuteReader();
        if (!reader.Read())
        {
            return 0;
        }

        // Touch the columns a real read decodes so SQLite does the same work.
        long sum = reader.GetString(0).Length + reader.GetString(1).Length + reader.GetString(2).Length;
        sum += reader.IsDBNull(5) ? 0 : reader.GetString(5).Length;
        sum += reader.IsDBNull(4) ? 0 : reader.GetString(4).Length;
        return sum + reader.GetInt64(11) + reader.GetInt64(19);
    }

    public void Dispose()
    {
        foreach (var command in new[] { _begin, _commit, _insertJob, _insertLabel, _insertEvent, _getJob })
        {
            command.Dispose();
        }

        _connection.Dispose();
    }

    private SqliteCommand Command(string sql, params string[] parameters)
    {
        var command = _connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class RawJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
