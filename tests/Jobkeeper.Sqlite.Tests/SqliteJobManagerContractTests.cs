using Jobkeeper.StoreContract;
using Xunit.Abstractions;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>The manager contract (bulk actions) on a real SQLite file.</summary>
public sealed class SqliteJobManagerContractTests(ITestOutputHelper output) : JobManagerContract, IDisposable
{
    private readonly TempDatabase _database = new();

    protected override ITestOutputHelper Output => output;

    protected override Task CreateDataAsync() => Task.CompletedTask;

    protected override void UseStore(JobkeeperOptions options) => options.UseSqlite(_database.Path);

    public void Dispose() => _database.Dispose();
}
