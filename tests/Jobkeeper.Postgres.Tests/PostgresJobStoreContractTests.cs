using Jobkeeper.Storage;
using Jobkeeper.StoreContract;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jobkeeper.Postgres.Tests;

/// <summary>The store contract on a real PostgreSQL database.</summary>
public sealed class PostgresJobStoreContractTests : JobStoreContract
{
    private TestDatabase? _database;

    protected override async Task<IJobStore> OpenFreshAsync(IJobStoreObserver observer)
    {
        _database = await TestDatabase.CreateAsync();
        return await ReopenAsync(observer);
    }

    protected override async Task<IJobStore> ReopenAsync(IJobStoreObserver observer)
    {
        var store = new PostgresJobStore(new PostgresStoreOptions { ConnectionString = _database!.ConnectionString }, [observer],
            NullLogger<PostgresJobStore>.Instance);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    protected override async Task<IJobStore?> OpenSiblingAsync() => await ReopenAsync(new RecordingObserver());

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
