using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.StoreContract;

/// <summary>
/// What <see cref="JobManager"/> must do on every store: the rules that span many jobs (bulk actions), run through a real host
/// with the store's own <c>AddJobkeeper</c> setup. A store's test project derives from this and says how to point a host at
/// fresh data.
/// </summary>
public abstract partial class JobManagerContract : IAsyncLifetime
{
    private IHost? _host;

    protected JobManager Manager => _host!.Services.GetRequiredService<JobManager>();

    protected Jobkeeper.Storage.IJobStore Store => _host!.Services.GetRequiredService<Jobkeeper.Storage.IJobStore>();

    /// <summary>Prepares fresh, empty data for this test.</summary>
    protected abstract Task CreateDataAsync();

    /// <summary>Points <paramref name="options"/> at the data <see cref="CreateDataAsync"/> made (<c>UseSqlite</c>, <c>UsePostgres</c>).</summary>
    protected abstract void UseStore(JobkeeperOptions options);

    public async Task InitializeAsync()
    {
        await CreateDataAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddJobkeeper(UseStore);
        _host = builder.Build();
        await _host.StartAsync();
    }

    public virtual async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }
    }
}
