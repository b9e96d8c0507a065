using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Exactly once per fire time with real processes: a schedule every second on three instances on PostgreSQL for two minutes
/// while the elected instance is killed with kill -9 twice; and on SQLite across a kill -9 and a restart, with the misfire
/// policy applied to the fire times the server was down for. Every fire time has one job, and none is lost silently.
/// </summary>
public sealed class ScheduleCrashTests(ITestOutputHelper output)
{
    private const string Schedules = "/api/v1/schedules";

    [Fact]
    public async Task Three_instances_fire_a_schedule_every_second_for_two_minutes_once_per_fire_time_while_the_leader_is_killed_twice()
    {
        await using var cluster = await PostgresCluster.StartAsync(3);
        var name = "every-second";
        using (var create = await cluster[0].Client.PostJsonAsync(Schedules,
            $$$"""{"name":"{{{name}}}","interval_seconds":1,"misfire":"catch_up","catch_up_limit":1000,"job":{"type":"e2e.tick"}}"""))
        {
            await Api.ExpectJsonAsync(create, HttpStatusCode.Created);
        }

        var clock = Stopwatch.StartNew();
        var alive = new List<ServerProcess>(cluster.Servers);
        foreach (var at in new[] { TimeSpan.FromSeconds(40), TimeSpan.FromSeconds(80) })
        {
            await Api.PollAsync(() => Task.FromResult(clock.Elapsed >= at), at + TimeSpan.FromSeconds(5), () => "time");
            var leader = await LeaderAsync(alive);
            await leader.KillAsync();
            alive.Remove(leader);
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: killed the leader {leader.BaseAddress} with kill -9; {alive.Count} instances left");
            await LeaderAsync(alive);
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: a new leader fires the schedule");
        }

        await Api.PollAsync(() => Task.FromResult(clock.Elapsed >= TimeSpan.FromMinutes(2)), TimeSpan.FromMinutes(2.5), () => "time");
        using (var pause = await alive[0].Client.PostAsync($"{Schedules}/{name}/pause", null))
        {
            await Api.ExpectJsonAsync(pause, HttpStatusCode.OK);
        }

        var schedule = await alive[0].Client.GetJsonAsync($"{Schedules}/{name}");
        var fireTimes = await FireTimesAsync(alive[0].Client, name);
        output.WriteLine($"{fireTimes.Count} jobs for fire times {fireTimes[0]:HH:mm:ss} to {fireTimes[^1]:HH:mm:ss}; skipped {schedule.GetProperty("skipped_fires").GetInt64()}");

        // One job per fire time, and every second from the first to the last has one.
        Assert.Equal(fireTimes.Count, fireTimes.Distinct().Count());
        var expected = Enumerable.Range(0, (int)(fireTimes[^1] - fireTimes[0]).TotalSeconds + 1).Select(s => fireTimes[0].AddSeconds(s)).ToList();
        Assert.Equal(expected, fireTimes);
        Assert.InRange(fireTimes.Count, 110, 130);
        Assert.Equal(0, schedule.GetProperty("skipped_fires").GetInt64());
        Assert.Equal(fireTimes[^1], schedule.GetProperty("last_fire_at").GetDateTimeOffset());
    }

    [Fact]
    public async Task On_sqlite_a_schedule_fires_once_per_fire_time_across_a_kill_9_and_a_restart_and_catches_up_as_its_policy_says()
    {
        using var data = new TempDirectory("jobkeeper-e2e-schedule");
        var db = data.File("jobkeeper.db");
        // Fire times more than 2 s late count as missed: the 8 s the server is down are a misfire.
        var settings = new Dictionary<string, string> { ["JOBKEEPER__SCHEDULES__MISFIREGRACE"] = "00:00:02" };
        const string Name = "every-second";
        DateTimeOffset killedAt;
        await using (var first = await ServerProcess.StartAsync(db, environment: settings))
        {
            using var create = await first.Client.PostJsonAsync(Schedules,
                $$$"""{"name":"{{{Name}}}","interval_seconds":1,"misfire":"catch_up","catch_up_limit":3,"job":{"type":"e2e.tick"}}""");
            await Api.ExpectJsonAsync(create, HttpStatusCode.Created);
            await Api.PollAsync(async () => (await FireTimesAsync(first.Client, Name)).Count >= 5, TimeSpan.FromSeconds(30), () => first.Output);
            await first.KillAsync();
            killedAt = DateTimeOffset.UtcNow;
        }

        var down = Stopwatch.StartNew();
        await Api.PollAsync(() => Task.FromResult(down.Elapsed >= TimeSpan.FromSeconds(8)), TimeSpan.FromSeconds(10), () => "time");
        await using var second = await ServerProcess.StartAsync(db, environment: settings);
        var restartedAt = DateTimeOffset.UtcNow;
        await Api.PollAsync(async () => (await FireTimesAsync(second.Client, Name)).Any(f => f > restartedAt.AddSeconds(3)), TimeSpan.FromSeconds(30),
            () => second.Output);
        using (var pause = await second.Client.PostAsync($"{Schedules}/{Name}/pause", null))
        {
            await Api.ExpectJsonAsync(pause, HttpStatusCode.OK);
        }

        var schedule = await second.Client.GetJsonAsync($"{Schedules}/{Name}");
        var fireTimes = await FireTimesAsync(second.Client, Name);
        var skipped = schedule.GetProperty("skipped_fires").GetInt64();
        var all = (int)(fireTimes[^1] - fireTimes[0]).TotalSeconds + 1;
        var gap = Enumerable.Range(0, all).Select(s => fireTimes[0].AddSeconds(s)).Except(fireTimes).ToList();
        output.WriteLine($"killed at {killedAt:HH:mm:ss.fff}, restarted at {restartedAt:HH:mm:ss.fff}; {fireTimes.Count} jobs from {fireTimes[0]:HH:mm:ss} " +
            $"to {fireTimes[^1]:HH:mm:ss}; fire times without a job: {string.Join(", ", gap.Select(g => g.ToString("HH:mm:ss")))}; skipped_fires {skipped}");

        // One job per fire time; every fire time from the first to the last either has its job or is counted as skipped.
        Assert.Equal(fireTimes.Count, fireTimes.Distinct().Count());
        Assert.Equal(all, fireTimes.Count + skipped);
        // The 8 s down were a misfire: the policy caught up the last 3 missed times and skipped the rest, which sit together in the downtime.
        Assert.True(skipped >= 3, $"expected the downtime to be skipped in part, skipped {skipped}");
        Assert.All(gap, g => Assert.InRange(g, killedAt.AddSeconds(-2), restartedAt.AddSeconds(1)));
        Assert.Contains("missed", second.Output, StringComparison.Ordinal);
    }

    /// <summary>The fire times of the schedule's jobs (each job's run_at), oldest first.</summary>
    private static async Task<List<DateTimeOffset>> FireTimesAsync(HttpClient client, string schedule)
    {
        var times = new List<DateTimeOffset>();
        string? cursor = null;
        do
        {
            var page = await client.GetJsonAsync($"/api/v1/jobs?label=schedule:{schedule}&limit=1000" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            times.AddRange(page.GetProperty("items").EnumerateArray().Select(j => j.GetProperty("run_at").GetDateTimeOffset()));
            cursor = page.GetProperty("next_cursor") is { ValueKind: JsonValueKind.String } next ? next.GetString() : null;
        }
        while (cursor is not null);

        times.Sort();
        return times;
    }

    /// <summary>The one live instance that says it leads maintenance (polled until one does).</summary>
    private static async Task<ServerProcess> LeaderAsync(IReadOnlyList<ServerProcess> alive)
    {
        ServerProcess? leader = null;
        await Api.PollAsync(async () =>
        {
            var leaders = new List<ServerProcess>();
            foreach (var server in alive)
            {
                var health = await server.Client.GetJsonAsync("/health");
                if (health.GetProperty("maintenance").GetProperty("leader").GetBoolean())
                {
                    leaders.Add(server);
                }
            }

            leader = leaders.Count == 1 ? leaders[0] : null;
            return leader is not null;
        }, TimeSpan.FromSeconds(20), () => "one leader among the live instances");
        return leader!;
    }
}
