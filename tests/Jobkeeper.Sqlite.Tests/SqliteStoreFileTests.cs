using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>What is particular to the SQLite file: creation, permissions, pragmas and migrations.</summary>
public sealed class SqliteStoreFileTests : IDisposable
{
    private readonly TempDatabase _database = new();

    [Fact]
    public async Task The_file_and_its_directory_are_created_readable_by_the_owner_only()
    {
        await using (var store = await Open())
        {
            Assert.True(File.Exists(_database.Path));
        }

        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_database.Path));
        }
    }

    [Fact]
    public async Task Migrations_are_recorded_once_and_not_reapplied()
    {
        await (await Open()).DisposeAsync();
        await using (var again = await Open())
        {
            var stats = await again.GetStatsAsync(CancellationToken.None);
            Assert.Equal(13, stats.SchemaVersion);
        }

        Assert.Equal(13L, Scalar("SELECT COUNT(*) FROM schema_migrations"));
        Assert.Equal("wal", Scalar("PRAGMA journal_mode"));
    }

    [Fact]
    public async Task The_partial_indexes_hold_the_statuses_the_queries_ask_for()
    {
        await (await Open()).DisposeAsync();
        using var connection = new SqliteConnection($"Data Source={_database.Path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql LIKE '% WHERE %'";
        var predicates = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var sql = reader.GetString(1);
                predicates[reader.GetString(0)] = sql[(sql.LastIndexOf(" WHERE ", StringComparison.Ordinal) + 7)..];
            }
        }

        StoreContract.StatusIndexes.AssertMatch(predicates);
    }

    [Fact]
    public async Task A_version_1_database_is_upgraded_in_place_with_attempts_counted_from_one()
    {
        // Build a version-1 file: today's schema taken back to what version 1 had, holding a job written by version 1.
        await using (var store = await Open())
        {
            var job = StoreContract.ContractJobs.New("from-v1");
            Assert.True(await store.InsertAsync(job, StoreContract.ContractJobs.Created(job), CancellationToken.None));
        }

        Execute("DROP TRIGGER jobs_search_insert; DROP TRIGGER jobs_search_delete; DROP TRIGGER jobs_search_update; DROP TABLE jobs_search; DROP TABLE jobs_search_pending; DROP TABLE job_workers; DROP TABLE schedules; DROP INDEX ix_jobs_unique; ALTER TABLE jobs DROP COLUMN unique_key; DROP INDEX ix_jobs_claim_partition; DROP INDEX ix_jobs_running_queue; ALTER TABLE jobs DROP COLUMN partition_key; DROP TABLE queues; DROP TABLE queue_turns; DROP TABLE queue_starts; " +
            "DROP INDEX ix_jobs_claim_queue; DROP INDEX ix_jobs_queue_created; ALTER TABLE jobs DROP COLUMN queue; ALTER TABLE jobs DROP COLUMN traceparent; ALTER TABLE job_events DROP COLUMN display_name; ALTER TABLE job_events DROP COLUMN reason; " +
            "DROP TABLE job_runners; ALTER TABLE jobs DROP COLUMN lease_us; " +
            "DROP INDEX ix_jobs_prompt_expiry; ALTER TABLE jobs DROP COLUMN prompts; ALTER TABLE jobs DROP COLUMN checkpoint; ALTER TABLE jobs DROP COLUMN prompt_expires_us; " +
            "DROP INDEX ix_jobs_claim; DROP INDEX ix_jobs_lease; ALTER TABLE jobs DROP COLUMN cancel_requested_us; " +
            "UPDATE jobs SET attempt = 0; DELETE FROM schema_migrations WHERE version >= 2;");

        await using (var upgraded = await Open())
        {
            Assert.Equal(13, (await upgraded.GetStatsAsync(CancellationToken.None)).SchemaVersion);
            var job = await upgraded.GetAsync("from-v1", CancellationToken.None);
            Assert.NotNull(job);
            Assert.Equal(1, job.Attempt);
            Assert.Null(job.CancelRequestedAt);
            Assert.Equal(Model.JobQueues.Default, job.Queue);
            var now = DateTimeOffset.UtcNow;
            var claimed = await upgraded.ClaimAsync(
                new Storage.ClaimRequest(new Dictionary<string, int> { [job.Type] = 1 }, 1, now.AddMinutes(1)),
                j => Model.JobTransitions.Claim(j, "w", "token", now.AddMinutes(2), now), CancellationToken.None);
            Assert.Equal("from-v1", Assert.Single(claimed).Id);
        }

        Assert.Equal(2L, Scalar("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('ix_jobs_claim', 'ix_jobs_lease')"));
    }

    [Fact]
    public async Task A_job_set_running_by_hand_before_leases_gets_one_on_upgrade()
    {
        // A version-4 file holding a job moved to running by hand, which then had no lease and could stay running forever.
        await using (var store = await Open())
        {
            var job = StoreContract.ContractJobs.New("by-hand") with { Status = Model.JobStatus.Running };
            Assert.True(await store.InsertAsync(job, StoreContract.ContractJobs.Created(job), CancellationToken.None));
        }

        Execute("DROP TRIGGER jobs_search_insert; DROP TRIGGER jobs_search_delete; DROP TRIGGER jobs_search_update; DROP TABLE jobs_search; DROP TABLE jobs_search_pending; DROP TABLE job_workers; DROP TABLE schedules; DROP INDEX ix_jobs_unique; ALTER TABLE jobs DROP COLUMN unique_key; DROP INDEX ix_jobs_claim_partition; DROP INDEX ix_jobs_running_queue; ALTER TABLE jobs DROP COLUMN partition_key; DROP TABLE queues; DROP TABLE queue_turns; DROP TABLE queue_starts; " +
            "DROP INDEX ix_jobs_claim_queue; DROP INDEX ix_jobs_queue_created; ALTER TABLE jobs DROP COLUMN queue; ALTER TABLE jobs DROP COLUMN traceparent; ALTER TABLE job_events DROP COLUMN display_name; ALTER TABLE job_events DROP COLUMN reason; " +
            "DROP TABLE job_runners; ALTER TABLE jobs DROP COLUMN lease_us; DELETE FROM schema_migrations WHERE version >= 5;");
        var before = DateTimeOffset.UtcNow;

        await using var upgraded = await Open();
        var stored = await upgraded.GetAsync("by-hand", CancellationToken.None);

        Assert.Equal("app", stored!.LeaseOwner);
        Assert.NotNull(stored.LeaseToken);
        Assert.Equal(TimeSpan.FromMinutes(30), stored.LeaseDuration);
        Assert.InRange(stored.LeaseExpiresAt!.Value, before.AddMinutes(29), before.AddMinutes(31));
        Assert.Single(await upgraded.GetExpiredLeasesAsync(before.AddMinutes(31), 10, CancellationToken.None));
    }

    [Fact]
    public async Task A_database_from_a_newer_jobkeeper_is_refused()
    {
        await (await Open()).DisposeAsync();
        Execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 'x')");
        var store = new SqliteJobStore(new SqliteStoreOptions { Path = _database.Path }, [], NullLogger<SqliteJobStore>.Instance);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Contains("999", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writes_after_disposal_are_refused_with_a_clear_error()
    {
        var store = await Open();
        await store.DisposeAsync();
        var job = StoreContract.ContractJobs.New("late");
        await Assert.ThrowsAsync<Jobkeeper.Errors.StoreUnavailableException>(() => store.InsertAsync(job, StoreContract.ContractJobs.Created(job), CancellationToken.None));
    }

    [Fact]
    public async Task Closing_copies_the_wal_into_the_database_and_empties_it()
    {
        var store = await Open();
        await Task.WhenAll(Enumerable.Range(0, 3000).Select(i =>
        {
            var job = StoreContract.ContractJobs.New($"wal-{i}");
            return store.InsertAsync(job, StoreContract.ContractJobs.Created(job), CancellationToken.None);
        }));
        var files = string.Join(", ", Directory.GetFiles(Path.GetDirectoryName(_database.Path)!));
        Assert.True(File.Exists(_database.Path + "-wal") && new FileInfo(_database.Path + "-wal").Length > 0, files);
        await store.DisposeAsync();

        var wal = new FileInfo(_database.Path + "-wal");
        Assert.True(!wal.Exists || wal.Length == 0, wal.Exists ? $"WAL left with {wal.Length} bytes" : "");
        Assert.Equal(3000L, Scalar("SELECT COUNT(*) FROM jobs"));
    }

    [Fact]
    public async Task A_write_that_fails_in_a_group_commit_takes_no_other_write_down()
    {
        await using var store = await Open();
        var good = Enumerable.Range(0, 200).Select(i => StoreContract.ContractJobs.New($"good-{i}")).ToList();
        // A row the database refuses (NOT NULL on type), queued in the middle of the others.
        var bad = StoreContract.ContractJobs.New("bad") with { Type = null! };
        var writes = good.Take(100).Select(j => store.InsertAsync(j, StoreContract.ContractJobs.Created(j), CancellationToken.None)).ToList();
        var badWrite = store.InsertAsync(bad, StoreContract.ContractJobs.Created(bad), CancellationToken.None);
        writes.AddRange(good.Skip(100).Select(j => store.InsertAsync(j, StoreContract.ContractJobs.Created(j), CancellationToken.None)));

        Assert.All(await Task.WhenAll(writes), Assert.True);
        await Assert.ThrowsAsync<Jobkeeper.Errors.StoreUnavailableException>(() => badWrite);
        Assert.Equal(200, (await store.GetStatsAsync(CancellationToken.None)).JobsCount);
        Assert.Null(await store.GetAsync("bad", CancellationToken.None));
    }

    private async Task<SqliteJobStore> Open()
    {
        var store = new SqliteJobStore(new SqliteStoreOptions { Path = _database.Path }, [], NullLogger<SqliteJobStore>.Instance);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    private object? Scalar(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_database.Path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={_database.Path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose() => _database.Dispose();
}
