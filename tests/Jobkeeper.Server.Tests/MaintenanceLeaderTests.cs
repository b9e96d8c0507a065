using System.Diagnostics;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Three real <c>jobkeeper serve</c> processes on one PostgreSQL database, with the default election settings: their
/// <c>/health</c> shows exactly one maintenance leader at a time, and after a <c>kill -9</c> of the leader another
/// takes over within a few seconds and goes on reaping (a lease that expires after the kill is reaped); when the new
/// leader's lock session is terminated, it steps down and one leader is elected again.
/// </summary>
public sealed class MaintenanceLeaderTests(ITestOutputHelper output)
{
    private static readonly TimeSpan HandOverLimit = TimeSpan.FromSeconds(10);
    private const int LeaseSeconds = 3;

    [Fact]
    public async Task One_of_three_instances_leads_and_a_kill_9_of_the_leader_hands_maintenance_over_within_seconds()
    {
        await using var cluster = await PostgresCluster.StartAsync(3, new Dictionary<string, string>
        {
            ["JOBKEEPER__WORKERS__REAPINTERVAL"] = "00:00:00.500",
        });
        await using var watch = new HealthWatch(cluster.Servers);

        var started = Stopwatch.StartNew();
        var leader = await OneLeaderAsync(watch, "one leader among the three instances");
        output.WriteLine($"instance {leader} leads {started.ElapsedMilliseconds} ms after the cluster answered");

        // A job claimed through another instance by a worker that will never renew its lease.
        var other = cluster[(leader + 1) % 3];
        await other.Client.CreateJobAsync("""{"id":"orphan","type":"leader.orphan"}""");
        var claimed = await other.Client.ClaimOneAsync("doomed", "leader.orphan", LeaseSeconds);
        Assert.Equal("orphan", claimed.Str("id"));

        var killedAt = Stopwatch.StartNew();
        await cluster[leader].KillAsync();
        watch.Forget(leader);
        var next = await OneLeaderAsync(watch, "a new leader after the kill -9 of the leader", HandOverLimit);
        var handOver = killedAt.Elapsed;
        output.WriteLine($"instance {leader} killed (-9); instance {next} leads {handOver.TotalMilliseconds:0} ms later " +
            $"(limit {HandOverLimit.TotalSeconds} s; election every 1 s, a new leader waits 1 s for an old one to stop)");

        // The lease runs out after the kill; the new leader's reaper returns the job.
        await Api.PollAsync(async () => (await other.Client.GetJobAsync("orphan")).Str("status") != "running",
            TimeSpan.FromSeconds(LeaseSeconds) + HandOverLimit, () => "the orphan's expired lease was not reaped:\n" + cluster.Output());
        var reapedAfter = killedAt.Elapsed;
        var events = await other.Client.EventsAsync("orphan");
        Assert.Contains(events, e => e.Str("type") == "lease_expired");
        output.WriteLine($"the orphan's {LeaseSeconds} s lease was reaped {reapedAfter.TotalMilliseconds:0} ms after the kill, by the new leader");
        Assert.Contains("now leads maintenance", cluster[next].Output, StringComparison.Ordinal);
        Assert.Contains("Lease of job orphan", cluster[next].Output, StringComparison.Ordinal);

        // The new leader's lock session is terminated under it: it steps down, and one of the two leads again.
        var backend = await LockBackendAsync(cluster);
        Assert.True(backend > 0, "no backend holds the maintenance lock while an instance leads");
        var terminatedAt = Stopwatch.StartNew();
        Assert.Equal(1, await cluster.ScalarAsync("SELECT pg_terminate_backend($1)", (int)backend));
        await Api.PollAsync(() => Task.FromResult(cluster[next].Output.Contains("no longer leads maintenance", StringComparison.Ordinal)),
            HandOverLimit, () => $"instance {next} did not step down after its lock backend {backend} was terminated:\n{cluster[next].Output}");
        var steppedDown = terminatedAt.ElapsedMilliseconds;
        await Api.PollAsync(async () => await LockBackendAsync(cluster) is var now && now > 0 && now != backend && watch.Leaders().Count == 1,
            HandOverLimit, () => $"no new lock holder and leader after terminating backend {backend}: leaders now {string.Join(", ", watch.Leaders())}");
        output.WriteLine($"the lock backend {backend} of instance {next} was terminated; it stepped down within {steppedDown} ms; " +
            $"instance {watch.Leaders()[0]} leads {terminatedAt.ElapsedMilliseconds} ms after the termination, on backend {await LockBackendAsync(cluster)}");

        output.WriteLine($"{watch.Samples} rounds of /health on every live instance; at most {watch.MostAtOnce} leader at once");
        Assert.True(watch.MostAtOnce <= 1, $"{watch.MostAtOnce} instances said they lead at once:\n{cluster.Output()}");
        Assert.True(handOver <= HandOverLimit);
    }

    /// <summary>The backend holding the maintenance lock (<c>pg_try_advisory_lock(19019, 1)</c>) of the cluster's database; 0 when none.</summary>
    private static Task<long> LockBackendAsync(PostgresCluster cluster) => cluster.ScalarAsync(
        "SELECT max(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 19019 AND objid = 1 AND objsubid = 2 AND granted " +
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())");

    private static async Task<int> OneLeaderAsync(HealthWatch watch, string what, TimeSpan? within = null)
    {
        var leader = -1;
        await Api.PollAsync(() =>
        {
            var leaders = watch.Leaders();
            leader = leaders.Count == 1 ? leaders[0] : -1;
            return Task.FromResult(leader >= 0);
        }, within ?? TimeSpan.FromSeconds(15), () => $"{what}: leaders now {string.Join(", ", watch.Leaders())}");
        return leader;
    }

    /// <summary>Reads <c>/health</c> of every live instance round after round and keeps the most that said they lead in one round.</summary>
    private sealed class HealthWatch : IAsyncDisposable
    {
        private readonly HttpClient[] _clients;
        private readonly bool[] _leading;
        private readonly bool[] _forgotten;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public HealthWatch(IReadOnlyList<ServerProcess> servers)
        {
            _clients = [.. servers.Select(s => new HttpClient { BaseAddress = s.BaseAddress, Timeout = TimeSpan.FromSeconds(2) })];
            _leading = new bool[servers.Count];
            _forgotten = new bool[servers.Count];
            _loop = Task.Run(LoopAsync);
        }

        public int MostAtOnce { get; private set; }

        public long Samples { get; private set; }

        /// <summary>The instances that said they lead in the last round.</summary>
        public List<int> Leaders()
        {
            lock (_leading)
            {
                return [.. Enumerable.Range(0, _leading.Length).Where(i => _leading[i])];
            }
        }

        /// <summary>Stops asking an instance (it was killed).</summary>
        public void Forget(int instance)
        {
            lock (_leading)
            {
                _forgotten[instance] = true;
                _leading[instance] = false;
            }
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var round = await Task.WhenAll(_clients.Select(async (client, i) =>
                {
                    if (Volatile.Read(ref _forgotten[i]))
                    {
                        return false;
                    }

                    try
                    {
                        using var response = await client.GetAsync("/health", _stop.Token);
                        using var health = JsonDocument.Parse(await response.Content.ReadAsStringAsync(_stop.Token));
                        return health.RootElement.GetProperty("maintenance").GetProperty("leader").GetBoolean();
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
                    {
                        // Killed meanwhile, or the watch is stopping.
                        return false;
                    }
                }));
                lock (_leading)
                {
                    for (var i = 0; i < round.Length; i++)
                    {
                        _leading[i] = round[i] && !_forgotten[i];
                    }

                    MostAtOnce = Math.Max(MostAtOnce, _leading.Count(l => l));
                    Samples++;
                }

                try
                {
                    await Task.Delay(20, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            foreach (var client in _clients)
            {
                client.Dispose();
            }

            _stop.Dispose();
        }
    }
}
