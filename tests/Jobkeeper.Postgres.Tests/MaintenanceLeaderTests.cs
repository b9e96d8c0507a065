using System.Diagnostics;
using Jobkeeper.Model;
using Jobkeeper.Retention;
using Jobkeeper.Sqlite.Tests;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace Jobkeeper.Postgres.Tests;

/// <summary>
/// Three instances in this process on one database elect one maintenance leader: never two at once (watched every
/// few milliseconds), a new one when the leader stops or its lock's backend is terminated, and retention run by the
/// leader alone, so each expired job is archived and deleted exactly once.
/// </summary>
public sealed class MaintenanceLeaderTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan ElectionInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LeaderCheckInterval = TimeSpan.FromMilliseconds(100);

    private readonly List<Instance> _instances = [];
    private readonly List<string> _directories = [];
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _database.DisposeAsync();
        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Three_instances_elect_one_leader_and_another_takes_over_when_it_stops()
    {
        var instances = await StartThreeAsync();
        await using var watch = new LeaderWatch(instances);

        var started = Stopwatch.StartNew();
        var first = await OneLeaderAsync(instances, "one leader among three");
        output.WriteLine($"instance {first} leads {started.ElapsedMilliseconds} ms after all three started");

        var stopped = Stopwatch.StartNew();
        await instances[first].DisposeAsync();
        _instances.Remove(instances[first]);
        var rest = instances.Where((_, i) => i != first).ToArray();
        var second = await OneLeaderAsync(rest, "a new leader after the leader stopped");
        output.WriteLine($"after instance {first} stopped, another leads {stopped.ElapsedMilliseconds} ms later");

        Assert.True(watch.MostAtOnce <= 1, $"{watch.MostAtOnce} instances led at once");
        Assert.Equal(1, rest.Count(i => i.Leadership.IsLeader));
        output.WriteLine($"{watch.Samples} samples of all three, at most {watch.MostAtOnce} leader at once (second leader: {second})");
    }

    [Fact]
    public async Task A_leader_whose_lock_backend_is_terminated_steps_down_and_one_leader_is_elected_again_never_two()
    {
        var instances = await StartThreeAsync();
        await using var watch = new LeaderWatch(instances);
        await OneLeaderAsync(instances, "one leader among three");

        for (var round = 1; round <= 3; round++)
        {
            var leader = Array.FindIndex(instances, i => i.Leadership.IsLeader);
            var backend = await LockBackendAsync();
            Assert.True(backend is not null, "no backend holds the maintenance lock while an instance leads");
            var terminated = Stopwatch.StartNew();
            await using (var connection = await OpenAsync())
            {
                await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend($1)", connection);
                kill.Parameters.Add(new NpgsqlParameter { Value = backend!.Value });
                Assert.True((bool)(await kill.ExecuteScalarAsync())!);
            }

            await Poll.UntilAsync(() => !instances[leader].Leadership.IsLeader, $"instance {leader} to step down after its lock backend was terminated");
            var steppedDown = terminated.ElapsedMilliseconds;
            var next = await OneLeaderAsync(instances, "a leader again after the lock backend was terminated");
            output.WriteLine($"round {round}: instance {leader} lost its lock (backend {backend}), stepped down after {steppedDown} ms; " +
                $"instance {next} leads {terminated.ElapsedMilliseconds} ms after the termination");
            Assert.NotEqual(backend, await LockBackendAsync());
        }

        output.WriteLine($"{watch.Samples} samples of all three, at most {watch.MostAtOnce} leader at once");
        Assert.True(watch.MostAtOnce <= 1, $"{watch.MostAtOnce} instances led at once");
    }

    [Fact]
    public async Task Retention_on_three_instances_archives_and_deletes_each_expired_job_exactly_once()
    {
        const int Total = 600;
        // One clock for all three: when it jumps past the retention, every instance's retention timer is due at the
        // same moment. Without an election all three would archive the same batches at once.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var archives = Enumerable.Range(0, 3).Select(_ => CreateDirectory()).ToArray();
        var instances = new Instance[3];
        for (var i = 0; i < 3; i++)
        {
            var archive = archives[i];
            instances[i] = await StartAsync($"i{i}", o =>
            {
                o.Maintenance.ElectionInterval = TimeSpan.FromSeconds(1);
                o.Maintenance.LeaderCheckInterval = TimeSpan.FromMilliseconds(500);
                o.Retention.Days = 1;
                o.Retention.Interval = TimeSpan.FromHours(1);
                o.Retention.ArchiveDirectory = archive;
            }, time);
        }

        // Drive the clock until an instance leads (the others keep trying, on the same clock).
        var leader = await Poll.UntilAsync(() =>
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            return Task.FromResult(Array.FindIndex(instances, i => i.Leadership.IsLeader));
        }, l => l >= 0, "a leader on the driven clock");
        time.Advance(TimeSpan.FromSeconds(2));
        var leaders = instances.Count(i => i.Leadership.IsLeader);

        var ids = new List<string>();
        for (var n = 0; n < Total; n++)
        {
            var job = await instances[n % 3].Manager.CreateAsync(new NewJob { Type = "retained", Id = $"r-{n:D4}" });
            await instances[n % 3].Manager.CancelAsync(job.Id);
            ids.Add(job.Id);
        }

        Assert.Equal(Total, await CountAsync("SELECT count(*) FROM jobs WHERE status = 'cancelled'"));

        // A day and more later, every retention timer is due at once; only the leader's runs.
        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(1));
        var started = Stopwatch.StartNew();
        await Poll.UntilAsync(() => CountAsync("SELECT count(*) FROM jobs"), n => n == 0, "retention to delete every expired job",
            deadline: TimeSpan.FromSeconds(60));
        // Let any other pass that was started finish writing its archive before it is read.
        await Poll.UntilAsync(() => Task.FromResult(ArchivedIds(archives).Count), n => n >= Total, "the archives to hold every job");
        output.WriteLine($"retention on instance {leader} deleted {Total} jobs in {started.ElapsedMilliseconds} ms");

        var archived = ArchivedIds(archives);
        var byInstance = archives.Select(a => Directory.GetFiles(a).Length).ToArray();
        var twice = archived.GroupBy(a => a.Id).Where(g => g.Count() > 1).ToList();
        output.WriteLine($"archive files per instance: {string.Join(", ", byInstance)}; {archived.Count} archived lines for {Total} jobs; " +
            $"{twice.Count} jobs archived more than once");
        Assert.True(twice.Count == 0,
            $"{twice.Count} jobs archived more than once, e.g. {string.Join("; ", twice.Take(5).Select(g => $"{g.Key} by instances {string.Join(",", g.Select(a => a.Instance))}"))}");
        Assert.Equal(ids.Order(StringComparer.Ordinal), archived.Select(a => a.Id).Order(StringComparer.Ordinal));
        Assert.All(archived, a => Assert.Equal(leader, a.Instance));
        Assert.Equal(1, leaders);
    }

    private async Task<Instance[]> StartThreeAsync()
    {
        var instances = new Instance[3];
        await Task.WhenAll(Enumerable.Range(0, 3).Select(async i => instances[i] = await StartAsync($"i{i}", o =>
        {
            o.Maintenance.ElectionInterval = ElectionInterval;
            o.Maintenance.LeaderCheckInterval = LeaderCheckInterval;
        })));
        return instances;
    }

    private async Task<Instance> StartAsync(string workerId, Action<JobkeeperOptions> configure, TimeProvider? time = null)
    {
        var instance = await Instance.StartAsync(_database.ConnectionString, workerId, configure: configure, time: time);
        lock (_instances)
        {
            _instances.Add(instance);
        }

        return instance;
    }

    private static async Task<int> OneLeaderAsync(Instance[] instances, string what)
    {
        await Poll.UntilAsync(() => instances.Count(i => i.Leadership.IsLeader) == 1, what,
            () => string.Join(", ", instances.Select(i => i.Leadership.IsLeader)));
        return Array.FindIndex(instances, i => i.Leadership.IsLeader);
    }

    /// <summary>The backend holding the maintenance lock (documented as <c>pg_try_advisory_lock(19019, 1)</c>) of the test's database, if any.</summary>
    private async Task<int?> LockBackendAsync()
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 19019 AND objid = 1 AND objsubid = 2 AND granted " +
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", connection);
        return await command.ExecuteScalarAsync() is int pid ? pid : null;
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private string CreateDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "jobkeeper-leader-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        _directories.Add(path);
        return path;
    }

    /// <summary>Every job id in every archive file, with the instance whose directory holds it.</summary>
    private static List<(string Id, int Instance)> ArchivedIds(string[] archives)
    {
        var archived = new List<(string, int)>();
        for (var i = 0; i < archives.Length; i++)
        {
            foreach (var file in Directory.GetFiles(archives[i], "*" + JobArchive.Extension))
            {
                try
                {
                    archived.AddRange(JobArchive.ReadAsync(file).ToBlockingEnumerable().Select(a => (a.Job.Id, i)));
                }
                catch (Exception ex) when (ex is IOException or InvalidDataException or System.Text.Json.JsonException)
                {
                    // Still being written; the caller looks again.
                }
            }
        }

        return archived;
    }

    /// <summary>Samples every instance's leadership every few milliseconds and keeps the most seen leading at once.</summary>
    private sealed class LeaderWatch : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public LeaderWatch(Instance[] instances) => _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                var leading = 0;
                foreach (var instance in instances)
                {
                    try
                    {
                        leading += instance.Leadership.IsLeader ? 1 : 0;
                    }
                    catch (ObjectDisposedException)
                    {
                        // Stopped by the test.
                    }
                }

                MostAtOnce = Math.Max(MostAtOnce, leading);
                Samples++;
                await Task.Delay(2);
            }
        });

        public int MostAtOnce { get; private set; }

        public long Samples { get; private set; }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            _stop.Dispose();
        }
    }
}
