using System.Collections.Concurrent;
using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Jobkeeper.Sqlite.Tests;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Jobkeeper.Postgres.Tests;

/// <summary>
/// What a worker slot counts: a handler that runs. Once the handler returns, its slot takes the next job while the
/// outcome waits for its commit; the store still shows the job running, under its lease, until then.
/// </summary>
public sealed class WorkerSlotTests : IAsyncLifetime
{
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task A_slot_takes_the_next_job_while_the_last_outcome_waits_for_its_commit()
    {
        var started = new ConcurrentQueue<string>();
        using var gate = new SemaphoreSlim(0);
        await using var instance = await Instance.StartAsync(_database.ConnectionString, "slots",
            h => h.AddHandler("t", async (ctx, ct) =>
            {
                started.Enqueue(ctx.Job.Id);
                if (ctx.Job.Id == "first")
                {
                    await gate.WaitAsync(ct);
                }
            }),
            w => w.MaxConcurrency = 1,
            o =>
            {
                // Longer than any wait below: a completion that timed out would also free the slot, for another reason.
                o.UsePostgres(p => (p.ConnectionString, p.Timeout) = (_database.ConnectionString, TimeSpan.FromMinutes(1)));
                // A limit that never binds sends the queue's claims to the flow writer's connection, so the next claim
                // cannot share the held completion's transaction (on the shared writers it may, and wait with it).
                o.Queues["default"] = new Queues.QueueOptions { ConcurrencyLimit = 100 };
            });
        await instance.Manager.CreateAsync(new NewJob { Type = "t", Id = "first" });
        await Poll.UntilAsync(() => started.Contains("first"), "the first job to start");
        await instance.Manager.CreateAsync(new NewJob { Type = "t", Id = "second" });

        // Hold the first job's row, so that its completion waits in a writer's transaction (the other writer is free).
        await using var blocker = new NpgsqlConnection(_database.ConnectionString);
        await blocker.OpenAsync();
        await using var hold = await blocker.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM jobs WHERE id = 'first' FOR UPDATE", blocker, hold))
        {
            await lockRow.ExecuteScalarAsync();
        }

        gate.Release();
        await Poll.UntilAsync(() => started.Contains("second"), "the second job to start while the first one's completion waits",
            () => string.Join(", ", started));
        Assert.Equal(JobStatus.Running, (await instance.Store.GetAsync("first", CancellationToken.None))!.Status);

        await hold.RollbackAsync();
        foreach (var id in new[] { "first", "second" })
        {
            await Poll.UntilAsync<Job?>(() => instance.Store.GetAsync(id, CancellationToken.None), j => j!.Status == JobStatus.Completed, $"{id} to complete",
                j => j!.Status.ToString());
        }
    }
}
