using Jobkeeper.Errors;
using Jobkeeper.StoreContract;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// The maintenance an application embedding the SQLite store can run itself, as the <c>jobkeeper</c> commands do
/// (their end-to-end tests are in Jobkeeper.Server.Tests): backup beside a writing store, restore, check, vacuum.
/// </summary>
public sealed class SqliteMaintenanceTests : IDisposable
{
    private readonly TempDatabase _database = new();

    private string Copy => Path.Combine(_database.Directory, "backups", "copy.db");

    [Fact]
    public async Task A_backup_taken_while_the_store_writes_is_one_sound_file_with_everything_committed_before_it()
    {
        await using var store = await OpenAsync();
        await InsertAsync(store, "before", 300);
        var writing = InsertAsync(store, "during", 300);

        var stages = new List<SqliteBackupStage>();
        var size = await SqliteMaintenance.BackupAsync(_database.Path, Copy, new Recorder(stages));
        await writing;

        Assert.Equal([SqliteBackupStage.Copying, SqliteBackupStage.Checkpointing, SqliteBackupStage.Verifying], stages);
        Assert.Equal(new FileInfo(Copy).Length, size);
        Assert.False(File.Exists(Copy + "-wal") || File.Exists(Copy + ".partial"), "the backup is one self-contained file");
        Assert.Equal("delete", Scalar(Copy, "PRAGMA journal_mode"));
        Assert.True(OperatingSystem.IsWindows() || File.GetUnixFileMode(Copy) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), "owner-only");
        Assert.Null(await SqliteMaintenance.CheckAsync(Copy));
        Assert.Equal(300L, Scalar(Copy, "SELECT COUNT(*) FROM jobs WHERE id LIKE 'before-%'"));
        Assert.InRange((long)Scalar(Copy, "SELECT COUNT(*) FROM jobs WHERE id LIKE 'during-%'"), 0L, 300L);
    }

    [Fact]
    public async Task A_restore_is_refused_while_a_store_has_the_file_and_replaces_it_once_the_store_closed()
    {
        var store = await OpenAsync();
        await InsertAsync(store, "kept", 10);
        await SqliteMaintenance.BackupAsync(_database.Path, Copy);
        await InsertAsync(store, "after-backup", 5);

        var refused = await Assert.ThrowsAsync<SqliteStoreLockedException>(() => SqliteMaintenance.RestoreAsync(Copy, _database.Path, holder: "restore test"));
        Assert.Contains(_database.Path, refused.Message, StringComparison.Ordinal);
        await store.DisposeAsync();

        await SqliteMaintenance.RestoreAsync(Copy, _database.Path, holder: "restore test");
        Assert.True(OperatingSystem.IsWindows() || File.GetUnixFileMode(_database.Path) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), "owner-only");
        await using var restored = await OpenAsync();
        Assert.Equal(10, (await restored.GetStatsAsync(CancellationToken.None)).JobsCount);
    }

    [Fact]
    public async Task A_restore_is_refused_while_another_program_has_the_file_open_unless_forced()
    {
        await (await OpenAsync()).DisposeAsync();
        await SqliteMaintenance.BackupAsync(_database.Path, Copy);

        using (var other = new SqliteConnection($"Data Source={_database.Path};Pooling=False"))
        {
            other.Open();
            using var read = other.CreateCommand();
            read.CommandText = "BEGIN; SELECT COUNT(*) FROM jobs;";
            read.ExecuteScalar();

            var refused = await Assert.ThrowsAsync<SqliteDatabaseInUseException>(() => SqliteMaintenance.RestoreAsync(Copy, _database.Path));
            Assert.Equal(_database.Path, refused.DatabasePath);
            await SqliteMaintenance.RestoreAsync(Copy, _database.Path, force: true);
        }
    }

    [Fact]
    public async Task Check_names_the_damage_and_a_damaged_backup_is_not_restored()
    {
        await using (var store = await OpenAsync())
        {
            await InsertAsync(store, "seed", 300);
        }

        await SqliteMaintenance.BackupAsync(_database.Path, Copy);
        var before = await File.ReadAllBytesAsync(_database.Path);
        var page = SqlitePages.DamageLeaf(Copy, "jobs");

        var problem = await SqliteMaintenance.CheckAsync(Copy);
        Assert.NotNull(problem);
        Assert.Contains($"page {page}", problem, StringComparison.Ordinal);
        var refused = await Assert.ThrowsAsync<StoreCorruptException>(() => SqliteMaintenance.RestoreAsync(Copy, _database.Path));
        Assert.Contains("is not a sound Jobkeeper database", refused.Message, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllBytesAsync(_database.Path));
        Assert.Equal("no database at " + Path.GetFullPath("missing.db"), await SqliteMaintenance.CheckAsync("missing.db"));
    }

    [Fact]
    public async Task Vacuum_gives_back_the_space_of_deleted_jobs_and_is_refused_while_a_store_has_the_file()
    {
        var store = await OpenAsync();
        await InsertAsync(store, "big", 500, pad: 2000);
        for (var i = 0; i < 500; i++)
        {
            Assert.True(await store.DeleteAsync($"big-{i}", CancellationToken.None));
        }

        await Assert.ThrowsAsync<SqliteStoreLockedException>(() => SqliteMaintenance.VacuumAsync(_database.Path));
        await store.DisposeAsync();

        var (before, after) = await SqliteMaintenance.VacuumAsync(_database.Path, "vacuum test");
        Assert.True(after < before / 2, $"{before} bytes before, {after} after");
        Assert.Equal(after, new FileInfo(_database.Path).Length);
        await Assert.ThrowsAsync<FileNotFoundException>(() => SqliteMaintenance.VacuumAsync(Path.Combine(_database.Directory, "missing.db")));
    }

    private async Task<SqliteJobStore> OpenAsync()
    {
        var store = new SqliteJobStore(new SqliteStoreOptions { Path = _database.Path }, [], NullLogger<SqliteJobStore>.Instance);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    private static async Task InsertAsync(SqliteJobStore store, string prefix, int count, int pad = 100)
    {
        var input = ContractJobs.ParseJson($$"""{"pad":"{{new string('x', pad)}}"}""");
        await Task.WhenAll(Enumerable.Range(0, count).Select(i =>
        {
            var job = ContractJobs.New($"{prefix}-{i}") with { Input = input };
            return store.InsertAsync(job, ContractJobs.Created(job), CancellationToken.None);
        }));
    }

    private static object Scalar(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar()!;
    }

    public void Dispose() => _database.Dispose();

    /// <summary>Records each stage as it is reported (<see cref="Progress{T}"/> would post them to the thread pool, out of order).</summary>
    private sealed class Recorder(List<SqliteBackupStage> stages) : IProgress<SqliteBackupStage>
    {
        public void Report(SqliteBackupStage value) => stages.Add(value);
    }
}
