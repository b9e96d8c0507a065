using BenchmarkDotNet.Attributes;
using Jobkeeper.Benchmarks.Harness;
using Jobkeeper.Model;

namespace Jobkeeper.Benchmarks.Micro;

/// <summary>
/// Reads of single jobs from the 1,000,000-job store, 4,096 random ids in turn. Hot: the job is in the
/// cache. Cold: the store is asked (IJobStore.GetAsync, or JobManager after evicting the id, which also
/// re-warms the cache). Raw: the same SELECT through Microsoft.Data.Sqlite without building a Job.
/// </summary>
[Config(typeof(BenchConfig))]
public class GetBenchmarks
{
    private const int Mask = 4095;
    private JobkeeperHost _host = null!;
    private RawSqlite _raw = null!;
    private string[] _ids = null!;
    private int _i;

    [GlobalSetup]
    public void Setup()
    {
        var path = MillionJobStore.EnsureAsync(Console.Out).GetAwaiter().GetResult();
        _ids = MillionJobStore.SampleIds(path, Mask + 1, seed: 42);
        _host = JobkeeperHost.StartAsync(path).GetAwaiter().GetResult();
        foreach (var id in _ids)
        {
            _ = _host.Manager.GetAsync(id).AsTask().GetAwaiter().GetResult() ?? throw new InvalidOperationException("sampled id missing");
        }

        _raw = RawSqlite.Open(path, readOnly: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _raw.Dispose();
        _host.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Description = "hot get: JobManager.GetAsync (cached)")]
    public ValueTask<Job?> HotGet() => _host.Manager.GetAsync(_ids[_i++ & Mask]);

    [Benchmark(Description = "cold get: IJobStore.GetAsync")]
    public Task<Job?> ColdGetStore() => _host.Store.GetAsync(_ids[_i++ & Mask], CancellationToken.None);

    [Benchmark(Description = "cold get: JobManager.GetAsync after Cache.Evict")]
    public ValueTask<Job?> ColdGetManager()
    {
        var id = _ids[_i++ & Mask];
        _host.Cache.Evict(id);
        return _host.Manager.GetAsync(id);
    }

    [Benchmark(Description = "raw: prepared SELECT by id (Microsoft.Data.Sqlite)")]
    public long RawGet() => _raw.GetJob(_ids[_i++ & Mask]);
}
