using Jobkeeper.Errors;
using Jobkeeper.StoreContract;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// What the SQLite store guards at the file: one writer at a time (a second would serve its stale cache), readers
/// beside it, and damage refused at start or reported as soon as it is met.
/// </summary>
public sealed class SqliteStoreGuardTests : IDisposable
{
    private readonly TempDatabase _database = new();

    [Fact]
    public async Task A_second_writer_on_the_file_is_refused_and_told_who_holds_it()
    {
        await using var first = await OpenAsync(new SqliteStoreOptions { Path = _database.Path, Holder = "billing-api on http://10.0.0.5:8080" });

        var second = new SqliteJobStore(new SqliteStoreOptions { Path = _database.Path }, [], NullLogger<SqliteJobStore>.Instance);
        var refused = await Assert.ThrowsAsync<SqliteStoreLockedException>(() => second.InitializeAsync(CancellationToken.None));
        Assert.Contains(_database.Path, refused.Message, StringComparison.Ordinal);
        Assert.Contains($"pid {Environment.ProcessId} on host {Environment.MachineName} (billing-api on http://10.0.0.5:8080)", refused.Message, StringComparison.Ordinal);
        Assert.Equal(Environment.ProcessId, refused.Holder?.ProcessId);

        // The same refusal for an application embedding the library: its host does not start.
        var host = await Assert.ThrowsAsync<SqliteStoreLockedException>(() => ManagerHost.StartAsync(_database.Path));
        Assert.Contains("billing-api", host.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_file_is_free_again_once_its_writer_closed()
    {
        var first = await OpenAsync(new SqliteStoreOptions { Path = _database.Path, Holder = "first" });
        await first.DisposeAsync();
        Assert.Equal(0, new FileInfo(SqliteStoreLock.PathFor(_database.Path)).Length);

        await using var second = await OpenAsync(new SqliteStoreOptions { Path = _database.Path, Holder = "second" });
        Assert.Equal("second", SqliteStoreLock.ReadHolder(_database.Path)?.Holder);
    }

    /// <summary>A process killed with -9 leaves its record behind, but the operating system dropped its lock with it.</summary>
    [Fact]
    public async Task A_lock_file_left_behind_by_a_killed_process_blocks_nobody()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_database.Path)!);
        await File.WriteAllTextAsync(SqliteStoreLock.PathFor(_database.Path),
            "pid: 999999\nhost: gone\nsince: 2026-01-01T00:00:00.0000000Z\nholder: jobkeeper serve on http://127.0.0.1:8080\n");

        await using var store = await OpenAsync(new SqliteStoreOptions { Path = _database.Path, Holder = "after the crash" });
        Assert.Equal(Environment.ProcessId, SqliteStoreLock.ReadHolder(_database.Path)?.ProcessId);
    }

    [Fact]
    public async Task A_read_only_store_reads_beside_the_writer_and_refuses_writes()
    {
        await using var writer = await OpenAsync(new SqliteStoreOptions { Path = _database.Path });
        var job = ContractJobs.New("seen-by-reader");
        Assert.True(await writer.InsertAsync(job, ContractJobs.Created(job), CancellationToken.None));

        await using var reader = await OpenAsync(new SqliteStoreOptions { Path = _database.Path, ReadOnly = true });
        Assert.NotNull(await reader.GetAsync("seen-by-reader", CancellationToken.None));
        Assert.Equal(1, (await reader.GetStatsAsync(CancellationToken.None)).JobsCount);
        var other = ContractJobs.New("refused");
        await Assert.ThrowsAsync<InvalidOperationException>(() => reader.InsertAsync(other, ContractJobs.Created(other), CancellationToken.None));
    }

    [Fact]
    public async Task A_damaged_database_is_refused_at_start_naming_the_file_and_the_way_out()
    {
        await SeedAsync(600);
        var page = SqlitePages.DamageLeaf(_database.Path, "jobs");

        var store = new SqliteJobStore(new SqliteStoreOptions { Path = _database.Path }, [], NullLogger<SqliteJobStore>.Instance);
        var refused = await Assert.ThrowsAsync<StoreCorruptException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Equal(_database.Path, refused.Location);
        Assert.Contains($"The SQLite database {_database.Path} is damaged", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"page {page}", refused.Message, StringComparison.Ordinal);
        Assert.Contains("jobkeeper check", refused.Message, StringComparison.Ordinal);
        Assert.Contains("restore", refused.Message, StringComparison.Ordinal);

        // Refused before anything was written, and the file is free for the operator's tools.
        await using var reader = await OpenAsync(new SqliteStoreOptions { Path = _database.Path, ReadOnly = true });
        Assert.Equal(0, new FileInfo(SqliteStoreLock.PathFor(_database.Path)).Length);
    }

    [Fact]
    public async Task Damage_met_while_serving_refuses_writes_and_makes_the_store_report_it()
    {
        await using var store = await OpenAsync(new SqliteStoreOptions { Path = _database.Path });
        await SeedAsync(600, store);
        SqlitePages.DamageLeaf(_database.Path, "jobs");

        // Listing walks every row: it meets the damaged page.
        var read = await Assert.ThrowsAsync<StoreCorruptException>(() => store.ListAsync(new Storage.JobQuery { Limit = 1000 }, CancellationToken.None));
        Assert.Contains(_database.Path, read.Message, StringComparison.Ordinal);

        var stats = await Assert.ThrowsAsync<StoreCorruptException>(() => store.GetStatsAsync(CancellationToken.None));
        Assert.Contains("damaged", stats.Message, StringComparison.Ordinal);
        var job = ContractJobs.New("after-damage");
        var write = await Assert.ThrowsAsync<StoreCorruptException>(() => store.InsertAsync(job, ContractJobs.Created(job), CancellationToken.None));
        Assert.Contains("Retrying will not help", write.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_SQLite_errors_name_the_file()
    {
        await using var store = await OpenAsync(new SqliteStoreOptions { Path = _database.Path });
        var bad = ContractJobs.New("bad") with { Type = null! };
        var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.InsertAsync(bad, ContractJobs.Created(bad), CancellationToken.None));
        Assert.IsNotType<StoreCorruptException>(error);
        Assert.Contains(_database.Path, error.Message, StringComparison.Ordinal);
    }

    /// <summary>The check at start is bounded: out of time, the store still opens, and says what it did not check.</summary>
    [Fact]
    public async Task An_integrity_check_out_of_time_lets_the_store_start_and_says_so()
    {
        await SeedAsync(2000);
        var log = new RecordingLogger();
        var store = new SqliteJobStore(new SqliteStoreOptions { Path = _database.Path, StartupCheckTimeout = TimeSpan.FromTicks(1) }, [], log);
        await store.InitializeAsync(CancellationToken.None);
        await using (store)
        {
            Assert.Equal(2000, (await store.GetStatsAsync(CancellationToken.None)).JobsCount);
        }

        Assert.Contains(log.Lines, l => l.StartsWith("Warning: Integrity check of " + _database.Path + " stopped after", StringComparison.Ordinal));
    }

    private async Task SeedAsync(int count, SqliteJobStore? open = null)
    {
        var store = open ?? await OpenAsync(new SqliteStoreOptions { Path = _database.Path });
        try
        {
            await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
            {
                var job = ContractJobs.New($"job-{i:D5}") with { Input = System.Text.Json.JsonDocument.Parse($$"""{"pad":"{{new string('x', 300)}}"}""").RootElement };
                return store.InsertAsync(job, ContractJobs.Created(job), CancellationToken.None);
            }));
        }
        finally
        {
            if (open is null)
            {
                await store.DisposeAsync();
            }
        }
    }

    private static async Task<SqliteJobStore> OpenAsync(SqliteStoreOptions options)
    {
        var store = new SqliteJobStore(options, [], NullLogger<SqliteJobStore>.Instance);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    public void Dispose() => _database.Dispose();

    private sealed class RecordingLogger : ILogger<SqliteJobStore>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines)
            {
                Lines.Add($"{logLevel}: {formatter(state, exception)}");
            }
        }
    }
}
