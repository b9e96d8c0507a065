using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Jobkeeper.Sqlite.Tests;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Jobkeeper.Postgres.Tests;

/// <summary>
/// Jobs created in the application's own transaction on a real PostgreSQL database, with two instances: a job exists exactly
/// when the transaction committed (commit, rollback, and a crash of the application's connection before the commit), every
/// instance then sees it and its workers wake through the notice, and no cache or stream ever shows a rolled-back job.
/// </summary>
public sealed class TransactionalEnqueueTests : IAsyncLifetime
{
    private readonly List<Instance> _instances = [];
    private TestDatabase _database = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        await using var connection = await OpenAsync();
        await using var create = new NpgsqlCommand("CREATE TABLE orders (id text PRIMARY KEY, total integer NOT NULL)", connection);
        await create.ExecuteNonQueryAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(_database.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private async Task<Instance> StartAsync(string workerId, Action<JobkeeperBuilder>? handlers = null)
    {
        var instance = await Instance.StartAsync(_database.ConnectionString, workerId, handlers);
        _instances.Add(instance);
        return instance;
    }

    private static async Task InsertOrderAsync(NpgsqlTransaction transaction, string id)
    {
        await using var insert = new NpgsqlCommand("INSERT INTO orders (id, total) VALUES ($1, 42)", transaction.Connection, transaction)
        {
            Parameters = { new NpgsqlParameter { Value = id } },
        };
        await insert.ExecuteNonQueryAsync();
    }

    private async Task<bool> OrderExistsAsync(string id)
    {
        await using var connection = await OpenAsync();
        await using var select = new NpgsqlCommand("SELECT count(*) FROM orders WHERE id = $1", connection) { Parameters = { new NpgsqlParameter { Value = id } } };
        return (long)(await select.ExecuteScalarAsync())! == 1;
    }

    /// <summary>Commits one more job in a transaction of its own and waits until its creation is recorded: every pass before it ran.</summary>
    private async Task<Job> CommitProbeAsync(Instance instance)
    {
        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var probe = await instance.Manager.CreateAsync(transaction, new NewJob { Type = "probe" });
        await transaction.CommitAsync();
        return await Poll.UntilAsync(() => instance.Manager.GetAsync(probe.Id).AsTask(), j => j?.Version == 1, "the probe's creation recorded", j => $"version {j?.Version}")
            ?? throw new InvalidOperationException();
    }

    [Fact]
    public async Task A_job_created_in_a_committed_transaction_exists_with_its_order_and_wakes_a_worker_on_another_instance()
    {
        var ran = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = await StartAsync("a");
        var b = await StartAsync("b", jk => jk.AddHandler("order.ship", (ctx, _) =>
        {
            ran.TrySetResult(ctx.Job.Id);
            return Task.CompletedTask;
        }));

        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await InsertOrderAsync(transaction, "order-1");
        var job = await a.Manager.CreateAsync(transaction, new NewJob { Type = "order.ship", Input = System.Text.Json.JsonDocument.Parse("""{"order":"order-1"}""").RootElement,
            Labels = new Dictionary<string, string> { ["order"] = "order-1" } }, new JobActor("shop") { Reason = "checkout" });

        // Until the commit, no instance and no other connection sees it.
        Assert.Null(await a.Manager.GetAsync(job.Id));
        Assert.Null(await b.Manager.GetAsync(job.Id));
        Assert.Empty((await b.Manager.ListAsync(new Storage.JobQuery { Labels = [new("order", "order-1")] })).Items);

        await transaction.CommitAsync();
        // A deadline for a loaded machine, not a measure: b's workers poll every 5 minutes, so only the notices can run it.
        if (await Task.WhenAny(ran.Task, Task.Delay(TimeSpan.FromSeconds(30))) != ran.Task)
        {
            var stored = await a.Manager.GetAsync(job.Id);
            Assert.Fail($"b's worker did not run the job within 30 s; the job is {stored?.Status.ToName()} at version {stored?.Version}, run_at {stored?.RunAt:O}");
        }

        Assert.Equal(job.Id, await ran.Task);
        Assert.True(await OrderExistsAsync("order-1"));
        var done = await Poll.UntilAsync(() => a.Manager.GetAsync(job.Id).AsTask(), j => j?.Status == JobStatus.Completed, "the job completed by b");
        Assert.Equal("order-1", done!.Labels["order"]);
        var events = await a.Manager.GetEventsAsync(job.Id);
        Assert.Equal((JobEventTypes.Created, 1L, "shop", "checkout"), (events[0].Type, events[0].Version, events[0].Actor, events[0].Reason));
    }

    [Fact]
    public async Task A_job_created_in_a_rolled_back_transaction_or_one_whose_connection_died_before_the_commit_never_exists_anywhere()
    {
        var a = await StartAsync("a");
        var b = await StartAsync("b");
        var feedBefore = await a.Store.GetFeedAsync(0, 100_000, null, CancellationToken.None);

        string rolledBack;
        await using (var connection = await OpenAsync())
        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await InsertOrderAsync(transaction, "order-rolled-back");
            rolledBack = (await a.Manager.CreateAsync(transaction, new NewJob { Type = "order.ship" })).Id;
            await transaction.RollbackAsync();
        }

        // The application dies before its commit: its backend ends, and with it the transaction.
        string crashed;
        var app = await OpenAsync();
        var transactionOfApp = await app.BeginTransactionAsync();
        await InsertOrderAsync(transactionOfApp, "order-crashed");
        crashed = (await b.Manager.CreateAsync(transactionOfApp, new NewJob { Type = "order.ship" })).Id;
        await using (var admin = await OpenAsync())
        await using (var kill = new NpgsqlCommand("SELECT pg_terminate_backend($1)", admin) { Parameters = { new NpgsqlParameter { Value = app.ProcessID } } })
        {
            Assert.True((bool)(await kill.ExecuteScalarAsync())!);
        }

        await Assert.ThrowsAnyAsync<Exception>(() => transactionOfApp.CommitAsync());
        await app.DisposeAsync();

        // A later job's creation is recorded by both instances' passes: by then any record of the two would be there too.
        await CommitProbeAsync(a);
        await CommitProbeAsync(b);
        foreach (var instance in new[] { a, b })
        {
            Assert.Null(await instance.Manager.GetAsync(rolledBack));
            Assert.Null(await instance.Manager.GetAsync(crashed));
            Assert.False(instance.Cache.TryGet(rolledBack, out _));
        }

        Assert.False(await OrderExistsAsync("order-rolled-back"));
        Assert.False(await OrderExistsAsync("order-crashed"));
        var feed = await a.Store.GetFeedAsync(feedBefore.Count == 0 ? 0 : feedBefore[^1].Event.Id, 100_000, null, CancellationToken.None);
        Assert.DoesNotContain(feed, e => e.Event.JobId == rolledBack || e.Event.JobId == crashed);
        await using var connectionCheck = await OpenAsync();
        await using var left = new NpgsqlCommand("SELECT count(*) FROM job_enlisted", connectionCheck);
        Assert.Equal(0L, (long)(await left.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task A_job_created_in_ef_core_s_current_transaction_commits_and_rolls_back_with_the_entities()
    {
        var a = await StartAsync("a");
        var options = new DbContextOptionsBuilder<ShopContext>().UseNpgsql(_database.ConnectionString).Options;

        string committed;
        await using (var db = new ShopContext(options))
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Orders.Add(new Order { Id = "ef-1", Total = 7 });
            await db.SaveChangesAsync();
            committed = (await a.Manager.CreateAsync(db.Database.CurrentTransaction!.GetDbTransaction(), new NewJob { Type = "order.ship" })).Id;
            await transaction.CommitAsync();
        }

        string rolledBack;
        await using (var db = new ShopContext(options))
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            db.Orders.Add(new Order { Id = "ef-2", Total = 8 });
            await db.SaveChangesAsync();
            rolledBack = (await a.Manager.CreateAsync(db.Database.CurrentTransaction!.GetDbTransaction(), new NewJob { Type = "order.ship" })).Id;
            await transaction.RollbackAsync();
        }

        await Poll.UntilAsync(() => a.Manager.GetAsync(committed).AsTask(), j => j?.Version == 1, "the committed job's creation recorded");
        await CommitProbeAsync(a);
        Assert.Null(await a.Manager.GetAsync(rolledBack));
        Assert.True(await OrderExistsAsync("ef-1"));
        Assert.False(await OrderExistsAsync("ef-2"));
    }

    [Fact]
    public async Task A_taken_id_is_refused_and_writes_nothing_into_the_application_s_transaction()
    {
        var a = await StartAsync("a");
        await a.Manager.CreateAsync(new NewJob { Type = "t", Id = "order-9", Labels = new Dictionary<string, string> { ["k"] = "first" } });

        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await Assert.ThrowsAsync<Errors.DuplicateJobException>(() =>
            a.Manager.CreateAsync(transaction, new NewJob { Type = "t", Id = "order-9", Labels = new Dictionary<string, string> { ["k"] = "second", ["x"] = "y" } }));
        // The application's transaction is still usable, and commits nothing of the refused job.
        await InsertOrderAsync(transaction, "order-9");
        await transaction.CommitAsync();

        await CommitProbeAsync(a);
        Assert.True(await OrderExistsAsync("order-9"));
        var kept = await a.Manager.GetAsync("order-9");
        Assert.Equal((1L, "first", 1), (kept!.Version, kept.Labels["k"], kept.Labels.Count));
        Assert.Single(await a.Manager.ListAsync(new Storage.JobQuery { Labels = [new("k", "first")] }) is { } page ? page.Items : []);
        Assert.Empty((await a.Manager.ListAsync(new Storage.JobQuery { Labels = [new("x", "y")] })).Items);
    }

    [Fact]
    public async Task A_unique_key_is_refused_in_the_application_s_transaction_naming_the_field()
    {
        var a = await StartAsync("a");
        await using var connection = await OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var refused = await Assert.ThrowsAsync<Errors.JobValidationException>(() =>
            a.Manager.CreateAsync(transaction, new NewJob { Type = "t", UniqueKey = "k" }));
        Assert.Equal("unique_key", refused.Field);
    }

    private sealed class ShopContext(DbContextOptions<ShopContext> options) : DbContext(options)
    {
        public DbSet<Order> Orders => Set<Order>();

        protected override void OnModelCreating(ModelBuilder modelBuilder) =>
            modelBuilder.Entity<Order>(o =>
            {
                o.ToTable("orders");
                o.Property(x => x.Id).HasColumnName("id");
                o.Property(x => x.Total).HasColumnName("total");
            });
    }

    private sealed class Order
    {
        public required string Id { get; set; }

        public int Total { get; set; }
    }
}
