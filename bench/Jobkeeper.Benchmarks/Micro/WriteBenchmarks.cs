using BenchmarkDotNet.Attributes;
using Jobkeeper.Benchmarks.Harness;
using Jobkeeper.Model;

namespace Jobkeeper.Benchmarks.Micro;

/// <summary>
/// One write at a time, each awaited until committed (durability=normal: WAL, synchronous=NORMAL), on a
/// fresh store. Raw: the same rows (job, 2 labels, creation event) in one transaction through
/// Microsoft.Data.Sqlite on the calling thread — the floor under a durable create.
/// </summary>
[Config(typeof(BenchConfig))]
public class WriteBenchmarks
{
    private JobkeeperHost _host = null!;
    private RawSqlite _raw = null!;
    private string _updateId = null!;
    private long _i;

    [GlobalSetup]
    public void Setup()
    {
        var path = BenchPaths.DataFile("micro-writes.db");
        var rawPath = BenchPaths.DataFile("micro-raw.db");
        BenchPaths.DeleteDatabase(path);
        _host = JobkeeperHost.StartAsync(path).GetAwaiter().GetResult();
        _updateId = _host.Manager.CreateAsync(SampleJobs.New(0)).GetAwaiter().GetResult().Id;
        RawSqlite.CreateSchemaAsync(rawPath).GetAwaiter().GetResult();
        _raw = RawSqlite.Open(rawPath);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _raw.Dispose();
        _host.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "sequential durable create: JobManager.CreateAsync")]
    public Task<Job> Create() => _host.Manager.CreateAsync(SampleJobs.New(++_i));

    [Benchmark(Description = "sequential durable create without labels: JobManager.CreateAsync")]
    public Task<Job> CreateWithoutLabels() => _host.Manager.CreateAsync(SampleJobs.New(++_i) with { Labels = null });

    [Benchmark(Description = "sequential durable update: JobManager.UpdateAsync (progress)")]
    public Task<Job> Update() =>
        _host.Manager.UpdateAsync(_updateId, new JobPatch { Progress = new ProgressPatch { Fraction = (++_i % 1000) / 1000.0 } });

    [Benchmark(Description = "raw: same rows, one transaction (Microsoft.Data.Sqlite)")]
    public void RawCreate()
    {
        _raw.Begin();
        _raw.InsertJob(++_i);
        _raw.Commit();
    }
}
