using Jobkeeper.Model;
using Jobkeeper.Storage;
using static Jobkeeper.StoreContract.ContractJobs;

namespace Jobkeeper.StoreContract;

/// <summary>
/// Flow control in every store: a queue's stored settings (pause, concurrency limit, partitions with their limit and
/// turns, rate limit) hold in every claim, by queue or by type, and a held-back job says why.
/// </summary>
public abstract partial class JobStoreContract
{
    private async Task<QueueSettings> SetQueue(QueueSettings settings)
    {
        var current = (await Store.GetQueueSettingsAsync(None)).FirstOrDefault(q => q.Name == settings.Name);
        var next = settings with { Version = (current?.Version ?? 0) + 1, UpdatedAt = T0 };
        Assert.True(await Store.SaveQueueSettingsAsync(current, next, None), $"save settings of {settings.Name}");
        return next;
    }

    private Task<IReadOnlyList<Job>> Take(int max, DateTimeOffset now, IReadOnlyList<string>? queues = null, params string[] types) =>
        Store.ClaimAsync(new ClaimRequest(types.ToDictionary(t => t, _ => max), max, now) { Queues = queues ?? [] },
            job => JobTransitions.Claim(job, "w", Guid.NewGuid().ToString("N"), now.AddMinutes(5), now), None);

    private async Task Finish(Job running)
    {
        var done = running with { Status = JobStatus.Completed, Version = running.Version + 1, CompletedAt = running.UpdatedAt, LeaseToken = null };
        Assert.True(await Store.ReplaceAsync(new JobReplacement(done, running.Version, [Updated(done)], false), None));
    }

    private static Job Labelled(string id, string queue, string user, string type = "render", DateTimeOffset? createdAt = null) =>
        InQueue(id, queue, type: type, createdAt: createdAt) with { Labels = new Dictionary<string, string> { ["user"] = user } };

    [Fact]
    public async Task Queue_settings_are_stored_compare_and_set_and_survive_reopening()
    {
        Assert.Empty(await Store.GetQueueSettingsAsync(None));
        var first = await SetQueue(new QueueSettings
        {
            Name = "renders",
            ConcurrencyLimit = 4,
            Partition = new QueuePartition { Key = "label:user", Limit = 1 },
            RateLimit = new QueueRateLimit { Count = 50, PeriodSeconds = 60, PerKey = true },
            PausedTypes = ["video.render"],
        });

        // A change made from settings that are no longer current is refused and changes nothing.
        var stale = first with { Version = 1 };
        Assert.False(await Store.SaveQueueSettingsAsync(stale with { Version = 0 }, stale with { ConcurrencyLimit = 9, Version = 5 }, None));
        Assert.False(await Store.SaveQueueSettingsAsync(null, new QueueSettings { Name = "renders", Version = 1 }, None));

        await Store.DisposeAsync();
        Store = await ReopenAsync(Observer);
        var read = Assert.Single(await Store.GetQueueSettingsAsync(None));
        Assert.Equal(first.Name, read.Name);
        Assert.Equal(4, read.ConcurrencyLimit);
        Assert.Equal(first.Partition, read.Partition);
        Assert.Equal(first.RateLimit, read.RateLimit);
        Assert.Equal(["video.render"], read.PausedTypes);
        Assert.Equal(first.Version, read.Version);
        Assert.Equal(T0, read.UpdatedAt);
    }

    [Fact]
    public async Task A_paused_queue_gives_nothing_to_any_claim_and_a_resumed_one_does()
    {
        await Seed(InQueue("r1", "renders", type: "a"), InQueue("d1", JobQueues.Default, type: "a"));
        var paused = await SetQueue(new QueueSettings { Name = "renders", Paused = true });

        Assert.Empty(await Take(10, T0.AddMinutes(1), ["renders"]));
        Assert.Equal(["d1"], (await Take(10, T0.AddMinutes(1), null, "a")).Select(j => j.Id));
        Assert.Equal(JobBlockedBy.Paused, await Store.GetBlockedByAsync((await Store.GetAsync("r1", None))!, T0.AddMinutes(1), None));

        await SetQueue(paused with { Paused = false });
        Assert.Null(await Store.GetBlockedByAsync((await Store.GetAsync("r1", None))!, T0.AddMinutes(1), None));
        Assert.Equal(["r1"], (await Take(10, T0.AddMinutes(1), null, "a")).Select(j => j.Id));
    }

    [Fact]
    public async Task A_type_paused_in_a_queue_stays_while_the_queue_s_other_types_run()
    {
        await Seed(InQueue("r-a", "renders", type: "a"), InQueue("r-b", "renders", type: "b"), InQueue("d-a", JobQueues.Default, type: "a"));
        await SetQueue(new QueueSettings { Name = "renders", PausedTypes = ["a"] });

        Assert.Equal(["r-b"], (await Take(10, T0.AddMinutes(1), ["renders"])).Select(j => j.Id));
        Assert.Equal(["d-a"], (await Take(10, T0.AddMinutes(1), null, "a")).Select(j => j.Id));
        Assert.Equal(JobBlockedBy.TypePaused, await Store.GetBlockedByAsync((await Store.GetAsync("r-a", None))!, T0.AddMinutes(1), None));
    }

    [Fact]
    public async Task A_concurrency_limit_counts_every_running_job_of_the_queue_whoever_claimed_it()
    {
        await Seed([.. Enumerable.Range(0, 5).Select(i => InQueue($"r{i}", "renders", type: i % 2 == 0 ? "a" : "b", createdAt: T0.AddSeconds(i)))]);
        await SetQueue(new QueueSettings { Name = "renders", ConcurrencyLimit = 2 });
        var now = T0.AddMinutes(1);

        var first = await Take(10, now, ["renders"]);
        Assert.Equal(2, first.Count);
        Assert.Empty(await Take(10, now, ["renders"]));
        Assert.Empty(await Take(10, now, null, "a", "b"));
        var held = (await Store.ListAsync(new JobQuery { Queue = "renders", Statuses = [JobStatus.Queued] }, None)).Items[0];
        Assert.Equal(JobBlockedBy.ConcurrencyLimit, await Store.GetBlockedByAsync(held, now, None));

        await Finish(first[0]);
        Assert.Single(await Take(10, now, null, "a", "b"));
        Assert.Empty(await Take(10, now, ["renders"]));
    }

    [Fact]
    public async Task A_type_at_its_claim_limit_leaves_the_rest_of_the_claim_to_the_queue_s_other_types()
    {
        // The first due jobs are all of a type the claim takes one of: the pick must read past them to fill the claim.
        await Seed([
            .. Enumerable.Range(0, 4).Select(i => InQueue($"a{i}", "renders", type: "a", createdAt: T0.AddSeconds(i))),
            .. Enumerable.Range(0, 3).Select(i => InQueue($"b{i}", "renders", type: "b", createdAt: T0.AddSeconds(10 + i))),
        ]);
        await SetQueue(new QueueSettings { Name = "renders", ConcurrencyLimit = 100 });
        var now = T0.AddMinutes(1);

        var claimed = await Store.ClaimAsync(new ClaimRequest(new Dictionary<string, int> { ["a"] = 1, ["b"] = 5 }, 3, now) { Queues = ["renders"] },
            job => JobTransitions.Claim(job, "w", Guid.NewGuid().ToString("N"), now.AddMinutes(5), now), None);

        Assert.Equal(["a0", "b0", "b1"], claimed.Select(j => j.Id).Order());
    }

    [Fact]
    public async Task A_claim_by_type_takes_every_other_queue_s_jobs_in_claim_order_past_a_flow_controlled_queue()
    {
        // The type's jobs in the flow-controlled queue come first in the type's order; the walk outside it goes queue by
        // queue, so the other queues' jobs must still come back merged by priority, then run_at, then age.
        await Seed([
            .. Enumerable.Range(0, 20).Select(i => InQueue($"f{i:D2}", "renders", type: "t", priority: 9, createdAt: T0.AddSeconds(i))),
            InQueue("a-low", "a", type: "t", priority: 0, createdAt: T0),
            InQueue("a-high", "a", type: "t", priority: 7, createdAt: T0.AddSeconds(1)),
            InQueue("b-mid", "b", type: "t", priority: 5, createdAt: T0),
            InQueue("b-other", "b", type: "u", priority: 8, createdAt: T0),
            InQueue("c-later", "c", type: "t", priority: 5, runAt: T0.AddSeconds(5), createdAt: T0),
        ]);
        await SetQueue(new QueueSettings { Name = "renders", ConcurrencyLimit = 2 });
        var now = T0.AddMinutes(1);

        var claimed = await Store.ClaimAsync(new ClaimRequest(new Dictionary<string, int> { ["t"] = 5 }, 5, now),
            job => JobTransitions.Claim(job, "w", Guid.NewGuid().ToString("N"), now.AddMinutes(5), now), None);

        // Outside the limited queue, in claim order; then the limited queue fills what is left, up to its limit of 2... of
        // which the claim has room for 1.
        Assert.Equal(["a-high", "b-mid", "c-later", "a-low", "f00"], claimed.Select(j => j.Id));
    }

    [Fact]
    public async Task Claims_at_once_never_take_more_than_the_limits_together()
    {
        var jobs = new List<Job>();
        for (var i = 0; i < 40; i++)
        {
            jobs.Add(Labelled($"j{i:D2}", "renders", $"u{i % 4}", createdAt: T0.AddMilliseconds(i)));
        }

        await Seed([.. jobs]);
        await SetQueue(new QueueSettings
        {
            Name = "renders",
            ConcurrencyLimit = 3,
            Partition = new QueuePartition { Key = "label:user", Limit = 1 },
            RateLimit = new QueueRateLimit { Count = 5, PeriodSeconds = 60 },
        });
        var now = T0.AddMinutes(1);

        // Claims sent together go into one transaction where the store batches them: each must count the others' picks.
        var claims = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Take(1, now, i % 2 == 0 ? ["renders"] : null, i % 2 == 0 ? [] : ["render"])));
        var claimed = claims.SelectMany(c => c).ToList();
        Assert.Equal(3, claimed.Count);
        Assert.Equal(3, claimed.Select(j => j.Labels["user"]).Distinct().Count());

        await Finish(claimed[0]);
        await Finish(claimed[1]);
        var more = (await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => Take(1, now, ["renders"])))).SelectMany(c => c).ToList();
        Assert.Equal(2, more.Count);
        Assert.Empty((await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Take(1, now, ["renders"])))).SelectMany(c => c));
    }

    [Fact]
    public async Task Lowering_a_limit_below_what_runs_cancels_nothing_and_claims_wait_until_the_count_drops()
    {
        await Seed([.. Enumerable.Range(0, 4).Select(i => InQueue($"r{i}", "renders", createdAt: T0.AddSeconds(i)))]);
        var settings = await SetQueue(new QueueSettings { Name = "renders", ConcurrencyLimit = 3 });
        var now = T0.AddMinutes(1);
        var running = await Take(10, now, ["renders"]);
        Assert.Equal(3, running.Count);

        await SetQueue(settings with { ConcurrencyLimit = 1 });
        Assert.All(running, j => Assert.Equal(JobStatus.Running, Store.GetAsync(j.Id, None).Result!.Status));
        await Finish(running[0]);
        await Finish(running[1]);
        Assert.Empty(await Take(10, now, ["renders"]));
        await Finish(running[2]);
        Assert.Single(await Take(10, now, ["renders"]));
    }

    [Fact]
    public async Task A_partition_limit_holds_per_label_value_and_a_job_without_the_label_is_in_the_empty_key()
    {
        await Seed(
            Labelled("u1-a", "renders", "u1", createdAt: T0),
            Labelled("u1-b", "renders", "u1", createdAt: T0.AddSeconds(1)),
            Labelled("u2-a", "renders", "u2", createdAt: T0.AddSeconds(2)),
            InQueue("none-a", "renders", type: "render", createdAt: T0.AddSeconds(3)),
            InQueue("none-b", "renders", type: "render", createdAt: T0.AddSeconds(4)));
        await SetQueue(new QueueSettings { Name = "renders", Partition = new QueuePartition { Key = "label:user", Limit = 1 } });
        var now = T0.AddMinutes(1);

        var claimed = await Take(10, now, ["renders"]);
        Assert.Equal(["none-a", "u1-a", "u2-a"], claimed.Select(j => j.Id).Order());
        Assert.Empty(await Take(10, now, null, "render"));
        Assert.Equal(JobBlockedBy.PartitionLimit, await Store.GetBlockedByAsync((await Store.GetAsync("u1-b", None))!, now, None));

        await Finish(claimed.Single(j => j.Id == "u1-a"));
        Assert.Equal(["u1-b"], (await Take(10, now, null, "render")).Select(j => j.Id));
    }

    [Fact]
    public async Task A_partition_by_type_is_a_global_limit_per_type()
    {
        await Seed([.. Enumerable.Range(0, 6).Select(i => InQueue($"j{i}", "mixed", type: i < 3 ? "a" : "b", createdAt: T0.AddSeconds(i)))]);
        await SetQueue(new QueueSettings { Name = "mixed", Partition = new QueuePartition { Key = "type", Limit = 2 } });

        var claimed = await Take(10, T0.AddMinutes(1), ["mixed"]);
        Assert.Equal(2, claimed.Count(j => j.Type == "a"));
        Assert.Equal(2, claimed.Count(j => j.Type == "b"));
        Assert.Empty(await Take(10, T0.AddMinutes(1), null, "a"));
    }

    [Fact]
    public async Task Keys_take_turns_so_a_key_with_many_jobs_does_not_starve_keys_with_few()
    {
        var jobs = new List<Job>();
        for (var i = 0; i < 60; i++)
        {
            jobs.Add(Labelled($"big-{i:D3}", "renders", "big", createdAt: T0.AddMilliseconds(i)));
        }

        for (var k = 0; k < 6; k++)
        {
            for (var i = 0; i < 3; i++)
            {
                jobs.Add(Labelled($"small{k}-{i}", "renders", $"small{k}", createdAt: T0.AddSeconds(10 + i)));
            }
        }

        await Seed([.. jobs]);
        await SetQueue(new QueueSettings { Name = "renders", ConcurrencyLimit = 2, Partition = new QueuePartition { Key = "label:user" } });
        var now = T0.AddMinutes(1);
        var started = new List<string>();
        while (started.Count < jobs.Count)
        {
            var claimed = await Take(2, now, ["renders"]);
            Assert.NotEmpty(claimed);
            started.AddRange(claimed.Select(j => j.Id));
            foreach (var job in claimed)
            {
                await Finish(job);
            }
        }

        // Every small key's last job started before the big key's 4th: one start per key per turn.
        var lastSmall = started.FindLastIndex(id => id.StartsWith("small", StringComparison.Ordinal));
        var bigBefore = started.Take(lastSmall).Count(id => id.StartsWith("big", StringComparison.Ordinal));
        Assert.True(bigBefore <= 3, $"the big key started {bigBefore} jobs before the small keys were done: {string.Join(",", started.Take(lastSmall + 1))}");
        // Within a key, the claim order stays.
        Assert.Equal(started.Where(id => id.StartsWith("big", StringComparison.Ordinal)), jobs.Where(j => j.Id.StartsWith("big", StringComparison.Ordinal)).Select(j => j.Id));
    }

    [Fact]
    public async Task Twenty_small_keys_all_start_before_a_key_with_ten_thousand_jobs_starts_its_200th()
    {
        // The issue's figure: one key with 10,000 queued jobs, 20 keys with 5 each, a global limit of 4.
        var jobs = new List<JobInsert>();
        for (var i = 0; i < 10_000; i++)
        {
            jobs.Add(Insert(Labelled($"big-{i:D5}", "renders", "big", createdAt: T0.AddTicks(i * 10))));
        }

        for (var k = 0; k < 20; k++)
        {
            for (var i = 0; i < 5; i++)
            {
                jobs.Add(Insert(Labelled($"small{k:D2}-{i}", "renders", $"small{k:D2}", createdAt: T0.AddSeconds(1 + i))));
            }
        }

        foreach (var chunk in jobs.Chunk(2000))
        {
            Assert.All(await Store.InsertManyAsync(chunk, None), o => Assert.Equal(InsertResult.Created, o.Result));
        }

        await SetQueue(new QueueSettings { Name = "renders", ConcurrencyLimit = 4, Partition = new QueuePartition { Key = "label:user" } });
        var now = T0.AddMinutes(1);
        var started = new List<string>();
        while (started.Count(id => id.StartsWith("small", StringComparison.Ordinal)) < 100)
        {
            var claimed = await Take(4, now, ["renders"]);
            Assert.NotEmpty(claimed);
            started.AddRange(claimed.Select(j => j.Id));
            foreach (var job in claimed)
            {
                await Finish(job);
            }
        }

        var lastSmall = started.FindLastIndex(id => id.StartsWith("small", StringComparison.Ordinal));
        var bigStarted = started.Take(lastSmall).Count(id => id.StartsWith("big", StringComparison.Ordinal));
        Assert.True(bigStarted < 200, $"the big key started {bigStarted} jobs before the last small key's last job");
        // Round robin: one start per key per turn, so the big key had 5 while the small keys took their 5 turns.
        Assert.True(bigStarted == 5, $"the big key started {bigStarted} jobs before the small keys were done: {string.Join(",", started.Take(lastSmall + 1))}");
    }

    private static JobInsert Insert(Job job) => new(job, Created(job));

    [Fact]
    public async Task A_rate_limit_counts_starts_in_a_sliding_window()
    {
        await Seed([.. Enumerable.Range(0, 10).Select(i => InQueue($"r{i}", "calls", createdAt: T0.AddSeconds(i)))]);
        await SetQueue(new QueueSettings { Name = "calls", RateLimit = new QueueRateLimit { Count = 3, PeriodSeconds = 60 } });
        var start = T0.AddMinutes(1);

        var first = await Take(10, start, ["calls"]);
        Assert.Equal(3, first.Count);
        foreach (var job in first)
        {
            await Finish(job);
        }

        Assert.Empty(await Take(10, start.AddSeconds(59), ["calls"]));
        var held = (await Store.ListAsync(new JobQuery { Queue = "calls", Statuses = [JobStatus.Queued] }, None)).Items[0];
        Assert.Equal(JobBlockedBy.RateLimit, await Store.GetBlockedByAsync(held, start.AddSeconds(59), None));
        Assert.Equal(3, (await Take(10, start.AddSeconds(60), ["calls"])).Count);
        var stats = Assert.Single(await Store.GetQueueStatsAsync("calls", start.AddSeconds(60), None));
        Assert.Equal(3, stats.StartedInRateWindow);
    }

    [Fact]
    public async Task A_rate_limit_per_key_counts_each_key_apart()
    {
        await Seed(
            Labelled("u1-a", "calls", "u1"), Labelled("u1-b", "calls", "u1", createdAt: T0.AddSeconds(1)),
            Labelled("u2-a", "calls", "u2"), Labelled("u2-b", "calls", "u2", createdAt: T0.AddSeconds(1)));
        await SetQueue(new QueueSettings
        {
            Name = "calls",
            Partition = new QueuePartition { Key = "label:user" },
            RateLimit = new QueueRateLimit { Count = 1, PeriodSeconds = 10, PerKey = true },
        });
        var start = T0.AddMinutes(1);

        Assert.Equal(["u1-a", "u2-a"], (await Take(10, start, ["calls"])).Select(j => j.Id).Order());
        Assert.Empty(await Take(10, start.AddSeconds(5), ["calls"]));
        Assert.Equal(["u1-b", "u2-b"], (await Take(10, start.AddSeconds(10), ["calls"])).Select(j => j.Id).Order());
    }

    [Fact]
    public async Task Changing_the_partition_key_moves_the_queue_s_waiting_jobs_into_the_new_partitions()
    {
        await Seed(Labelled("a1", "renders", "u1", type: "a"), Labelled("a2", "renders", "u2", type: "a"), Labelled("b1", "renders", "u1", type: "b"));
        var byUser = await SetQueue(new QueueSettings { Name = "renders", Partition = new QueuePartition { Key = "label:user", Limit = 1 } });
        await SetQueue(byUser with { Partition = new QueuePartition { Key = "type", Limit = 1 } });

        var claimed = await Take(10, T0.AddMinutes(1), ["renders"]);
        Assert.Equal(2, claimed.Count);
        Assert.Equal(["a", "b"], claimed.Select(j => j.Type).Order());
    }

    [Fact]
    public async Task Queue_stats_count_each_queue_s_jobs_by_status_with_the_oldest_due_and_the_recently_finished()
    {
        await Seed(
            InQueue("r1", "renders", createdAt: T0), InQueue("r2", "renders", runAt: T0.AddHours(1)),
            InQueue("r3", "renders", status: JobStatus.Completed), New("d1"));
        await SetQueue(new QueueSettings { Name = "empty-but-set", ConcurrencyLimit = 1 });

        var all = await Store.GetQueueStatsAsync(null, T0.AddMinutes(2), None);
        Assert.Equal(["default", "empty-but-set", "renders"], all.Select(s => s.Settings.Name));
        var renders = all.Single(s => s.Settings.Name == "renders");
        Assert.Equal(2, renders.Counts[JobStatus.Queued]);
        Assert.Equal(1, renders.Counts[JobStatus.Completed]);
        Assert.Equal(T0, renders.OldestDueRunAt);
        Assert.Equal(1, renders.FinishedLast15Minutes);
        Assert.Equal(1, all.Single(s => s.Settings.Name == "empty-but-set").Settings.ConcurrencyLimit);
        Assert.Empty(await Store.GetQueueStatsAsync("nowhere", T0, None));
    }
}
