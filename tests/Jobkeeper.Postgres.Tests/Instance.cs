using Jobkeeper.Hosting;
using Jobkeeper.Streaming;
using Jobkeeper.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Postgres.Tests;

/// <summary>One Jobkeeper instance in this process: a real host with its own store, cache, hub and workers on a shared database.</summary>
internal sealed class Instance : IAsyncDisposable
{
    private readonly IHost _host;

    private Instance(IHost host) => _host = host;

    public JobManager Manager => _host.Services.GetRequiredService<JobManager>();

    /// <summary>The instance's hot cache.</summary>
    public Jobkeeper.Caching.JobCache Cache => _host.Services.GetRequiredService<Jobkeeper.Caching.JobCache>();

    /// <summary>The instance's store, under the cache.</summary>
    public Jobkeeper.Storage.IJobStore Store => _host.Services.GetRequiredService<Jobkeeper.Storage.IJobStore>();

    public WorkQueue Queue => _host.Services.GetRequiredService<WorkQueue>();

    public JobEventHub Hub => _host.Services.GetRequiredService<JobEventHub>();

    public Maintenance.IMaintenanceLeadership Leadership => _host.Services.GetRequiredService<Maintenance.IMaintenanceLeadership>();

    public static async Task<Instance> StartAsync(string connectionString, string workerId, Action<JobkeeperBuilder>? handlers = null,
        Action<JobWorkerOptions>? workers = null, Action<JobkeeperOptions>? configure = null, TimeProvider? time = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        var jobkeeper = builder.Services.AddJobkeeper(o =>
        {
            o.UsePostgres(connectionString);
            o.Workers.WorkerId = workerId;
            // Polling is slow on purpose: a job created elsewhere must wake these workers through the notices.
            o.Workers.PollInterval = TimeSpan.FromMinutes(5);
            workers?.Invoke(o.Workers);
            configure?.Invoke(o);
        });
        handlers?.Invoke(jobkeeper);
        var host = builder.Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new Instance(host);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
