using Jobkeeper.StoreContract;
using Xunit.Abstractions;

namespace Jobkeeper.Postgres.Tests;

/// <summary>The manager contract (bulk actions) on a real PostgreSQL database.</summary>
public sealed class PostgresJobManagerContractTests(ITestOutputHelper output) : JobManagerContract
{
    private TestDatabase? _database;

    protected override ITestOutputHelper Output => output;

    protected override async Task CreateDataAsync() => _database = await TestDatabase.CreateAsync();

    protected override void UseStore(JobkeeperOptions options) => options.UsePostgres(_database!.ConnectionString);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
