using Jobkeeper.Caching;
using Jobkeeper.Hosting;
using Jobkeeper.Storage;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class JobkeeperServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="Jobkeeper.JobManager"/>, the hot cache, the store chosen in <paramref name="configure"/>
    /// (e.g. <c>o.UseSqlite(path)</c>) and the background services that open, sweep and drain them.
    /// </summary>
    public static JobkeeperBuilder AddJobkeeper(this IServiceCollection services, Action<Jobkeeper.JobkeeperOptions>? configure = null)
    {
        var optionsBuilder = services.AddOptions<Jobkeeper.JobkeeperOptions>();
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        // A value that cannot work stops the host at start, naming its key, instead of surfacing at the first job.
        optionsBuilder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Jobkeeper.JobkeeperOptions>, Jobkeeper.Validation.JobkeeperOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<JobCache>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobStoreObserver, JobCache>(sp => sp.GetRequiredService<JobCache>()));
        services.TryAddSingleton<Jobkeeper.Streaming.JobEventHub>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobStoreObserver, Jobkeeper.Streaming.JobEventHub>(
            sp => sp.GetRequiredService<Jobkeeper.Streaming.JobEventHub>()));
        services.TryAddSingleton<JobCountChanges>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobStoreObserver, JobCountChanges>(sp => sp.GetRequiredService<JobCountChanges>()));
        services.TryAddSingleton<Jobkeeper.Workers.JobSignals>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IJobStoreObserver, Jobkeeper.Workers.JobSignals>(
            sp => sp.GetRequiredService<Jobkeeper.Workers.JobSignals>()));
        services.TryAddSingleton<IJobStore>(sp =>
        {
            var factory = sp.GetRequiredService<IOptions<Jobkeeper.JobkeeperOptions>>().Value.StoreFactory
                ?? throw new InvalidOperationException(
                    "Jobkeeper has no store. Choose one in AddJobkeeper, e.g. services.AddJobkeeper(o => o.UseSqlite(\"data/jobkeeper.db\")).");
            return factory(sp);
        });
        services.TryAddSingleton<Jobkeeper.Workers.DrivenJobs>();
        // The host's meter factory scopes the "Jobkeeper" meter to this host (the generic host always has one).
        services.TryAddSingleton(sp => new Jobkeeper.Telemetry.JobkeeperInstruments(sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.TryAddSingleton(sp => new Jobkeeper.JobKernel(sp.GetRequiredService<IJobStore>(), sp.GetRequiredService<JobCache>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Jobkeeper.Telemetry.JobkeeperInstruments>()));
        services.TryAddSingleton(sp => new Jobkeeper.JobManager(sp.GetRequiredService<Jobkeeper.JobKernel>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<Jobkeeper.JobkeeperOptions>>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Jobkeeper.JobManager>>(), sp.GetRequiredService<Jobkeeper.Workers.DrivenJobs>(),
            sp.GetRequiredService<Jobkeeper.Telemetry.JobkeeperInstruments>()));
        services.TryAddSingleton(sp => new Jobkeeper.Queues.QueueManager(sp.GetRequiredService<Jobkeeper.JobKernel>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Jobkeeper.Queues.QueueManager>>()));
        services.TryAddSingleton(sp => new Jobkeeper.Queues.QueueGauges(sp.GetRequiredService<Jobkeeper.Queues.QueueManager>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<Jobkeeper.Telemetry.JobkeeperInstruments>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Queues.QueueGauges>(
            sp => sp.GetRequiredService<Jobkeeper.Queues.QueueGauges>()));
        services.TryAddSingleton(sp => new Jobkeeper.Schedules.ScheduleManager(sp.GetRequiredService<Jobkeeper.JobKernel>(),
            sp.GetRequiredService<Jobkeeper.JobManager>(), sp.GetRequiredService<IOptions<Jobkeeper.JobkeeperOptions>>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Jobkeeper.Schedules.ScheduleManager>>()));
        services.TryAddSingleton<Jobkeeper.Workers.JobRunners>();
        services.TryAddSingleton(sp => new Jobkeeper.Workers.WorkQueue(sp.GetRequiredService<Jobkeeper.JobKernel>(), sp.GetRequiredService<IJobStore>(),
            sp.GetRequiredService<Jobkeeper.Workers.JobSignals>(), sp.GetRequiredService<Jobkeeper.Workers.JobRunners>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<Jobkeeper.JobkeeperOptions>>(),
            sp.GetRequiredService<Jobkeeper.Workers.WorkerActivity>()));
        services.TryAddSingleton<Jobkeeper.Workers.WorkerActivity>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Workers.WorkerActivityRecorder>());
        services.TryAddSingleton(sp => new Jobkeeper.Telemetry.JobkeeperGauges(sp.GetRequiredService<Jobkeeper.JobManager>(),
            sp.GetRequiredService<JobCache>(), sp.GetRequiredService<Jobkeeper.Workers.DrivenJobs>(),
            sp.GetRequiredService<Jobkeeper.Telemetry.JobkeeperInstruments>(), sp.GetRequiredService<Jobkeeper.Maintenance.IMaintenanceLeadership>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Telemetry.JobkeeperGauges>(
            sp => sp.GetRequiredService<Jobkeeper.Telemetry.JobkeeperGauges>()));
        services.TryAddSingleton<Jobkeeper.Retention.JobRetention>();

        // Registered first so the store is open before anything that uses it starts, and closed last.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, JobStoreLifetime>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, CacheSweepService>());
        // Registered before the app's own services, so it stops after them: they may still finish the jobs they drive.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Workers.DrivenJobKeeper>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Workers.RunnerPresence>());
        // Before the maintenance below, so it stops after them; they run only while it says this instance leads.
        services.TryAddSingleton<Jobkeeper.Maintenance.MaintenanceElection>();
        services.TryAddSingleton<Jobkeeper.Maintenance.IMaintenanceLeadership>(sp => sp.GetRequiredService<Jobkeeper.Maintenance.MaintenanceElection>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Maintenance.MaintenanceElection>(
            sp => sp.GetRequiredService<Jobkeeper.Maintenance.MaintenanceElection>()));
        // Run by one elected instance per store, handlers or not: external workers' jobs need reaping too.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Workers.LeaseReaper>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Workers.PromptExpirer>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Workers.SearchIndexer>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Retention.RetentionSweep>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Schedules.DeclaredSchedules>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Jobkeeper.Schedules.ScheduleRunner>());
        return new JobkeeperBuilder(services);
    }
}
