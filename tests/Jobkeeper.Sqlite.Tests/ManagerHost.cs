using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>A real host with <c>AddJobkeeper(o => o.UseSqlite(path))</c> on a fake clock.</summary>
internal sealed class ManagerHost : IAsyncDisposable
{
    private readonly IHost _host;
    private bool _stopped;

    private ManagerHost(IHost host, FakeTimeProvider time)
    {
        _host = host;
        Time = time;
    }

    public FakeTimeProvider Time { get; }

    public JobManager Manager => _host.Services.GetRequiredService<JobManager>();

    public IServiceProvider Services => _host.Services;

    /// <summary>The hot cache the manager reads through.</summary>
    public Jobkeeper.Caching.JobCache Cache => _host.Services.GetRequiredService<Jobkeeper.Caching.JobCache>();

    /// <summary>The store itself, under the cache.</summary>
    public Jobkeeper.Storage.IJobStore Store => _host.Services.GetRequiredService<Jobkeeper.Storage.IJobStore>();

    public static async Task<ManagerHost> StartAsync(string path, Action<JobkeeperOptions>? configure = null, FakeTimeProvider? time = null)
    {
        time ??= new FakeTimeProvider(new DateTimeOffset(2026, 5, 1, 9, 0, 0, TimeSpan.Zero));
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddJobkeeper(o =>
        {
            o.UseSqlite(path);
            configure?.Invoke(o);
        });
        var host = builder.Build();
        await host.StartAsync();
        return new ManagerHost(host, time);
    }

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _host.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _host.Dispose();
    }
}
