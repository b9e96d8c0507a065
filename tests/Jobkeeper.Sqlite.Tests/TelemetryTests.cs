using System.Diagnostics.Metrics;
using Jobkeeper.Model;
using Jobkeeper.Telemetry;
using Jobkeeper.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// The "Jobkeeper" meter of a real host, read with <see cref="MetricCollector{T}"/> through the host's meter factory: counters,
/// histograms and gauges move by exactly the work done, histograms record the fake clock's durations, and two hosts in one
/// process each count only their own work.
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private readonly TempDatabase _database = new();
    private readonly TempDatabase _second = new();

    public void Dispose()
    {
        _database.Dispose();
        _second.Dispose();
    }

    /// <summary>The collectors of one host's instruments, by instrument name.</summary>
    private sealed class Meters(IServiceProvider services) : IDisposable
    {
        private readonly IMeterFactory _factory = services.GetRequiredService<IMeterFactory>();
        private readonly List<IDisposable> _collectors = [];

        public MetricCollector<T> Of<T>(string instrument)
            where T : struct
        {
            var collector = new MetricCollector<T>(_factory, JobkeeperTelemetry.MeterName, instrument);
            _collectors.Add(collector);
            return collector;
        }

        public void Dispose() => _collectors.ForEach(c => c.Dispose());
    }

    private static long Sum(MetricCollector<long> collector, string type) =>
        collector.GetMeasurementSnapshot().Where(m => m.MatchesTags(new KeyValuePair<string, object?>("type", type))).Sum(m => m.Value);

    private static double[] Values(MetricCollector<double> collector, params KeyValuePair<string, object?>[] tags) =>
        [.. collector.GetMeasurementSnapshot().Where(m => m.MatchesTags(tags)).Select(m => m.Value)];

    private static KeyValuePair<string, object?> Tag(string name, string value) => new(name, value);

    private static JobError Error(string message) => new() { Message = message, Code = message };

    [Fact]
    public async Task Counters_and_histograms_move_exactly_with_the_work()
    {
        await using var host = await ManagerHost.StartAsync(_database.Path);
        using var meters = new Meters(host.Services);
        var created = meters.Of<long>("jobkeeper.jobs.created");
        var completed = meters.Of<long>("jobkeeper.jobs.completed");
        var failed = meters.Of<long>("jobkeeper.jobs.failed");
        var retried = meters.Of<long>("jobkeeper.jobs.retried");
        var queueWait = meters.Of<double>("jobkeeper.job.queue_wait");
        var runDuration = meters.Of<double>("jobkeeper.job.run.duration");
        var batchSize = meters.Of<int>("jobkeeper.store.commit.batch_size");
        var commitDuration = meters.Of<double>("jobkeeper.store.commit.duration");
        var manager = host.Manager;
        var queue = host.Services.GetRequiredService<WorkQueue>();

        // a: three jobs — one completes, one fails for good, one fails and is queued for a retry.
        var a = new[] { "a1", "a2", "a3" };
        foreach (var id in a)
        {
            await manager.CreateAsync(new NewJob { Id = id, Type = "a", MaxAttempts = 3 });
        }

        // b: two jobs — one fails for good and is retried by hand, one stays queued.
        await manager.CreateAsync(new NewJob { Id = "b1", Type = "b", MaxAttempts = 1, Priority = 5 });
        await manager.CreateAsync(new NewJob { Id = "b2", Type = "b", MaxAttempts = 1 });

        host.Time.Advance(TimeSpan.FromSeconds(3));
        var claimedA = (await queue.ClaimAsync("w", new Dictionary<string, int> { ["a"] = 3 }, 3, Lease)).ToDictionary(j => j.Id, j => j.LeaseToken!);
        Assert.Equal(3, claimedA.Count);
        host.Time.Advance(TimeSpan.FromSeconds(2));
        await queue.CompleteAsync("a1", claimedA["a1"], null);
        Assert.Equal(JobStatus.Failed, (await queue.FailAsync("a2", claimedA["a2"], Error("no"), retry: false)).Status);
        var requeued = await queue.FailAsync("a3", claimedA["a3"], Error("again"));
        Assert.Equal((JobStatus.Queued, 2), (requeued.Status, requeued.Attempt));

        var b1 = Assert.Single(await queue.ClaimAsync("w", new Dictionary<string, int> { ["b"] = 1 }, 1, Lease));
        Assert.Equal("b1", b1.Id);
        Assert.Equal(JobStatus.Failed, (await queue.FailAsync("b1", b1.LeaseToken!, Error("b"))).Status);
        Assert.Equal(JobStatus.Queued, (await manager.RetryAsync("b1")).Status);

        Assert.Equal(3, Sum(created, "a"));
        Assert.Equal(2, Sum(created, "b"));
        Assert.Equal(1, Sum(completed, "a"));
        Assert.Equal(0, Sum(completed, "b"));
        Assert.Equal(1, Sum(failed, "a"));
        Assert.Equal(1, Sum(failed, "b"));
        Assert.Equal(1, Sum(retried, "a"));
        Assert.Equal(1, Sum(retried, "b"));

        // Due at creation, claimed three seconds of the clock later; ended two seconds after that.
        Assert.Equal([3.0, 3.0, 3.0], Values(queueWait, Tag("type", "a"), Tag("queue", "default")));
        Assert.Equal([5.0], Values(queueWait, Tag("type", "b"), Tag("queue", "default")));
        Assert.Equal([2.0], Values(runDuration, Tag("type", "a"), Tag("outcome", "completed")));
        Assert.Equal([2.0], Values(runDuration, Tag("type", "a"), Tag("outcome", "failed")));
        Assert.Equal([2.0], Values(runDuration, Tag("type", "a"), Tag("outcome", "retried")));
        Assert.Equal([0.0], Values(runDuration, Tag("type", "b"), Tag("outcome", "failed")));

        // Writes: 5 inserts, 2 claims (one operation each, however many jobs), 4 finishes, 1 retry — each in some committed batch
        // (with the bookkeeping beside them: which types are claimed, the search index catching up, the workers seen).
        Assert.InRange(batchSize.GetMeasurementSnapshot().Sum(m => m.Value), 12, 20);
        Assert.Equal(batchSize.GetMeasurementSnapshot().Count, commitDuration.GetMeasurementSnapshot().Count);
        Assert.All(commitDuration.GetMeasurementSnapshot(), m => Assert.InRange(m.Value, 0, 60));
    }

    [Fact]
    public async Task Gauges_report_jobs_by_status_the_cache_app_driven_jobs_and_maintenance_leadership()
    {
        await using var host = await ManagerHost.StartAsync(_database.Path);
        using var meters = new Meters(host.Services);
        var jobs = meters.Of<long>("jobkeeper.jobs");
        var driven = meters.Of<int>("jobkeeper.jobs.driven");
        var entries = meters.Of<int>("jobkeeper.cache.entries");
        var hits = meters.Of<long>("jobkeeper.cache.hits");
        var leader = meters.Of<int>("jobkeeper.maintenance.leader");
        var manager = host.Manager;

        await manager.CreateAsync(new NewJob { Id = "queued", Type = "g" });
        await manager.CreateAsync(new NewJob { Id = "driven", Type = "g" });
        await manager.UpdateAsync("driven", new JobPatch { Status = JobStatus.Running });
        await manager.GetAsync("queued");
        await manager.GetAsync("queued");

        // What a scrape does: bring the counts up to date (at most every few seconds), then observe.
        await host.Services.GetRequiredService<JobkeeperGauges>().RefreshAsync(CancellationToken.None);
        jobs.RecordObservableInstruments();
        driven.RecordObservableInstruments();
        entries.RecordObservableInstruments();
        hits.RecordObservableInstruments();
        leader.RecordObservableInstruments();

        var byStatus = jobs.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags["status"]!, m => m.Value);
        Assert.Equal(JobStatusNames.All.Select(s => s.ToName()).Order(), byStatus.Keys.Order());
        Assert.Equal((1, 1, 0), (byStatus["queued"], byStatus["running"], byStatus["completed"]));
        Assert.Equal(1, driven.LastMeasurement!.Value);
        Assert.Equal(2, entries.LastMeasurement!.Value);
        Assert.True(hits.LastMeasurement!.Value >= 2, $"the two reads were not cache hits: {hits.LastMeasurement.Value}");
        Assert.Equal(1, leader.LastMeasurement!.Value); // one process per SQLite file: it always leads
    }

    [Fact]
    public async Task The_job_counts_keep_their_last_value_while_the_store_cannot_be_read()
    {
        await using var host = await ManagerHost.StartAsync(_database.Path);
        using var meters = new Meters(host.Services);
        var jobs = meters.Of<long>("jobkeeper.jobs");
        await host.Manager.CreateAsync(new NewJob { Type = "g" });
        var gauges = host.Services.GetRequiredService<JobkeeperGauges>();
        await gauges.RefreshAsync(CancellationToken.None);

        // The store is closed under the gauges; counts older than their age would be read again, and that read fails.
        await host.StopAsync();
        host.Time.Advance(JobkeeperGauges.StatsMaxAge + TimeSpan.FromSeconds(1));
        await gauges.RefreshAsync(CancellationToken.None);
        jobs.RecordObservableInstruments();

        Assert.Equal(1, jobs.GetMeasurementSnapshot().Single(m => (string)m.Tags["status"]! == "queued").Value);
    }

    [Fact]
    public async Task An_expired_lease_is_counted_by_what_the_job_became()
    {
        await using var host = await WorkerHost.StartAsync(_database.Path);
        await host.Time.WaitForPeriodicTimerAsync(WorkerHost.ReapInterval);
        using var meters = new Meters(host.Services);
        var expired = meters.Of<long>("jobkeeper.leases.expired");
        await host.CreateAsync("reaped", id: "orphan", maxAttempts: 3);
        Assert.Single(await host.Queue.ClaimAsync("dead-worker", new Dictionary<string, int> { ["reaped"] = 1 }, 1, TimeSpan.FromSeconds(5)));

        host.Time.Advance(TimeSpan.FromSeconds(6));
        await host.WaitForStatusAsync("orphan", JobStatus.Queued);

        // The reaper counts the expiry once its change is stored, so the new status can be seen a moment before the count.
        await Poll.UntilAsync(() => expired.GetMeasurementSnapshot().Count > 0, "the lease expiry to be counted");
        var measurement = Assert.Single(expired.GetMeasurementSnapshot());
        Assert.Equal(1, measurement.Value);
        Assert.True(measurement.MatchesTags(Tag("type", "reaped"), Tag("outcome", "queued")), string.Join(", ", measurement.Tags));
    }

    [Fact]
    public async Task Two_hosts_in_one_process_each_count_their_own_work()
    {
        await using var first = await ManagerHost.StartAsync(_database.Path);
        await using var second = await ManagerHost.StartAsync(_second.Path);
        using var firstMeters = new Meters(first.Services);
        using var secondMeters = new Meters(second.Services);
        var firstCreated = firstMeters.Of<long>("jobkeeper.jobs.created");
        var secondCreated = secondMeters.Of<long>("jobkeeper.jobs.created");
        var firstJobs = firstMeters.Of<long>("jobkeeper.jobs");

        await first.Manager.CreateAsync(new NewJob { Type = "shared" });
        await first.Manager.CreateAsync(new NewJob { Type = "shared" });
        await second.Manager.CreateAsync(new NewJob { Type = "shared" });
        await first.Services.GetRequiredService<JobkeeperGauges>().RefreshAsync(CancellationToken.None);
        firstJobs.RecordObservableInstruments();

        Assert.Equal(2, Sum(firstCreated, "shared"));
        Assert.Equal(1, Sum(secondCreated, "shared"));
        Assert.Equal(2, firstJobs.GetMeasurementSnapshot().Single(m => (string)m.Tags["status"]! == "queued").Value);
    }
}
