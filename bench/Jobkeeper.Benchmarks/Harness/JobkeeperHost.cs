using Jobkeeper.Caching;
using Jobkeeper.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Benchmarks.Harness;

/// <summary>
/// Jobkeeper wired exactly as an application embeds it: a generic host with
/// <c>services.AddJobkeeper(o => o.UseSqlite(path))</c>, started (which opens and migrates the store) and
/// stopped (which drains and closes it).
/// </summary>
public sealed class JobkeeperHost : IAsyncDisposable
{
    private readonly IHost _host;
    private int _disposed;

    private JobkeeperHost(IHost host)
    {
        _host = host;
        Manager = host.Services.GetRequiredService<JobManager>();
        Store = host.Services.GetRequiredService<IJobStore>();
        Cache = host.Services.GetRequiredService<JobCache>();
    }

    public JobManager Manager { get; }

    public IJobStore Store { get; }

    public JobCache Cache { get; }

    public IServiceProvider Services => _host.Services;

    public static async Task<JobkeeperHost> StartAsync(string path, Action<JobkeeperOptions>? configure = null,
        Action<Jobkeeper.Hosting.JobkeeperBuilder>? handlers = null, Action<IServiceCollection>? services = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        // Warnings only: the store logs each cleanup and start-up at Information, which is noise here.
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole(o => o.SingleLine = true);
        var jobkeeper = builder.Services.AddJobkeeper(o =>
        {
            o.UseSqlite(path);
            configure?.Invoke(o);
        });
        handlers?.Invoke(jobkeeper);
        services?.Invoke(builder.Services);
        var host = builder.Build();
        await host.StartAsync().ConfigureAwait(false);
        return new JobkeeperHost(host);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _host.StopAsync().ConfigureAwait(false);
        _host.Dispose();
    }
}
