using Jobkeeper.Model;
using Jobkeeper.Sqlite;
using Jobkeeper.Storage;
using Microsoft.Extensions.Logging.Abstractions;

namespace Jobkeeper.Example.Tests;

/// <summary>
/// The example's SQLite file opened with the library itself, to see what an app left behind once its process
/// is gone (killed or stopped): open it only while no app runs on the file, and dispose it before starting one.
/// </summary>
internal sealed class ExampleStore : IAsyncDisposable
{
    private readonly SqliteJobStore _store;

    private ExampleStore(SqliteJobStore store) => _store = store;

    public static async Task<ExampleStore> OpenAsync(string dbPath)
    {
        var store = new SqliteJobStore(new SqliteStoreOptions { Path = dbPath, ReadConnections = 1 }, [], NullLogger<SqliteJobStore>.Instance);
        try
        {
            await store.InitializeAsync(CancellationToken.None);
            return new ExampleStore(store);
        }
        catch
        {
            await store.DisposeAsync();
            throw;
        }
    }

    /// <summary>Every job of <paramref name="type"/>, by id.</summary>
    public async Task<Dictionary<string, Job>> JobsAsync(string type)
    {
        var jobs = new Dictionary<string, Job>(StringComparer.Ordinal);
        var query = new JobQuery { Type = type, Limit = JobQuery.MaxLimit };
        while (true)
        {
            var page = await _store.ListAsync(query, CancellationToken.None);
            foreach (var job in page.Items)
            {
                jobs.Add(job.Id, job);
            }

            if (page.Next is not { } next)
            {
                return jobs;
            }

            query = query with { After = next };
        }
    }

    public async Task<IReadOnlyList<JobEvent>> EventsAsync(string jobId) =>
        await _store.GetEventsAsync(jobId, 0, 10_000, CancellationToken.None);

    public ValueTask DisposeAsync() => _store.DisposeAsync();
}
