using BenchmarkDotNet.Attributes;
using Jobkeeper.Benchmarks.Harness;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Benchmarks.Micro;

/// <summary>
/// A page of 100, newest first, on the 1,000,000-job store (queued 10 %, each of 8 types 12.5 %, series
/// label 1 %, user label 0.1 %). "raw" runs the same SQL the store generates (mirrored here, since
/// the shared JobListQuery is internal) through Microsoft.Data.Sqlite without building Job objects.
/// </summary>
[Config(typeof(BenchConfig))]
public class ListBenchmarks
{
    private JobkeeperHost _host = null!;
    private RawSqlite _raw = null!;
    private SqliteCommand _rawCommand = null!;
    private JobQuery _query = null!;

    [Params("status", "type", "label", "label:user", "status+type", "status+type+label")]
    public string Filter { get; set; } = "status";

    [GlobalSetup]
    public void Setup()
    {
        var path = MillionJobStore.EnsureAsync(Console.Out).GetAwaiter().GetResult();
        _host = JobkeeperHost.StartAsync(path).GetAwaiter().GetResult();
        _raw = RawSqlite.Open(path, readOnly: true);
        _query = Query(Filter);
        _rawCommand = RawQuery(_raw.Connection, _query);
        var page = _host.Manager.ListAsync(_query).GetAwaiter().GetResult();
        Console.WriteLine($"// list {Filter}: {page.Items.Count} items, next cursor {(page.Next is null ? "none" : "yes")}");
        if (page.Items.Count != 100)
        {
            throw new InvalidOperationException($"Filter {Filter} matched {page.Items.Count} jobs, expected a full page of 100.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rawCommand.Dispose();
        _raw.Dispose();
        _host.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "list 100: JobManager.ListAsync")]
    public Task<JobPage> List() => _host.Manager.ListAsync(_query);

    [Benchmark(Description = "raw: same SQL, columns read, no Job built")]
    public long RawList()
    {
        long sum = 0;
        using var reader = _rawCommand.ExecuteReader();
        while (reader.Read())
        {
            sum += reader.GetString(0).Length + reader.GetString(1).Length + reader.GetString(2).Length + reader.GetInt64(11);
            sum += reader.IsDBNull(4) ? 0 : reader.GetString(4).Length;
            sum += reader.IsDBNull(5) ? 0 : reader.GetString(5).Length;
        }

        return sum;
    }

    public static JobQuery Query(string filter)
    {
        var query = new JobQuery { Limit = 100 };
        foreach (var part in filter.Split('+'))
        {
            query = part switch
            {
                "status" => query with { Statuses = [JobStatus.Queued] },
                "type" => query with { Type = "video.render" },
                "label" => query with { Labels = [new("series_id", "s7")] },
                "label:user" => query with { Labels = [new("user", "u42")] },
                _ => throw new ArgumentOutOfRangeException(nameof(filter), filter, "unknown filter"),
            };
        }

        return query;
    }

    /// <summary>The SQL JobListQuery builds on SQLite for these filter shapes (one status, a type, one label).</summary>
    private static SqliteCommand RawQuery(SqliteConnection connection, JobQuery query)
    {
        const string Columns =
            "j.id, j.type, j.status, j.priority, j.input, j.labels, j.progress, j.result, j.error, j.attempt, j.max_attempts, " +
            "j.created_us, j.updated_us, j.started_us, j.completed_us, j.run_at_us, j.lease_owner, j.lease_expires_us, j.lease_token, j.version";
        var command = connection.CreateCommand();
        var where = new List<string>();
        string from, order;
        if (query.Labels.Count > 0)
        {
            from = "job_labels l JOIN jobs j ON j.id = l.job_id";
            where.Add("l.key = $lk0 AND l.value = $lv0");
            command.Parameters.AddWithValue("$lk0", query.Labels[0].Key);
            command.Parameters.AddWithValue("$lv0", query.Labels[0].Value);
            order = "l.created_us DESC, l.job_id DESC";
        }
        else
        {
            from = "jobs j";
            order = "j.created_us DESC, j.id DESC";
        }

        if (query.Statuses.Count > 0)
        {
            where.Add("j.status IN ($s0)");
            command.Parameters.AddWithValue("$s0", query.Statuses[0].ToName());
        }

        if (query.Type is not null)
        {
            where.Add("j.type = $type");
            command.Parameters.AddWithValue("$type", query.Type);
        }

        command.Parameters.AddWithValue("$take", query.Limit + 1);
        command.CommandText = $"SELECT {Columns} FROM {from}{(where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "")} ORDER BY {order} LIMIT $take";
        return command;
    }
}
