using Jobkeeper.Storage;
using Jobkeeper.StoreContract;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>The store contract on a real SQLite file.</summary>
public sealed class SqliteJobStoreContractTests : JobStoreContract, IDisposable
{
    private readonly TempDatabase _database = new();

    protected override Task<IJobStore> OpenFreshAsync(IJobStoreObserver observer) => OpenAsync(observer);

    protected override Task<IJobStore> ReopenAsync(IJobStoreObserver observer) => OpenAsync(observer);

    private async Task<IJobStore> OpenAsync(IJobStoreObserver observer)
    {
        var store = new SqliteJobStore(new SqliteStoreOptions { Path = _database.Path }, [observer], NullLogger<SqliteJobStore>.Instance);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    public void Dispose() => _database.Dispose();
}
