using Jobkeeper.Caching;
using Jobkeeper.Storage;

namespace Jobkeeper;

/// <summary>Settings of <see cref="JobManager"/> and its store; configured through <c>AddJobkeeper(o => ...)</c>.</summary>
public sealed class JobkeeperOptions
{
    public JobCacheOptions Cache { get; } = new();

    /// <summary>Leases, concurrency, retries, cancellation and shutdown of the workers that run jobs.</summary>
    public Workers.JobWorkerOptions Workers { get; } = new();

    /// <summary>Background cleanup of finished jobs, optionally archived first; off unless some retention days are set.</summary>
    public Retention.RetentionOptions Retention { get; } = new();

    /// <summary>How the instances on a shared store elect the one that runs maintenance (reaper, prompt expiry, retention).</summary>
    public Maintenance.MaintenanceOptions Maintenance { get; } = new();

    /// <summary>Recurring schedules (<c>Jobkeeper:Schedules</c>): how often they are looked at, and those declared in code.</summary>
    public Schedules.ScheduleOptions Schedules { get; } = new();

    /// <summary>Queues declared at start, by name (<c>Jobkeeper:Queues:{name}</c>); see <see cref="global::Jobkeeper.Queues.QueueOptions"/>.</summary>
    public Dictionary<string, global::Jobkeeper.Queues.QueueOptions> Queues { get; } = new(StringComparer.Ordinal);

    /// <summary>Jobs deleted per transaction by cleanup; small so that other writers never wait long.</summary>
    public int CleanupBatchSize { get; set; } = 200;

    /// <summary>Actor recorded in events when a caller names none.</summary>
    public string DefaultActor { get; set; } = "app";

    internal Func<IServiceProvider, IJobStore>? StoreFactory { get; private set; }

    internal Func<IServiceProvider, IEnumerable<string>>? StoreProblems { get; private set; }

    /// <summary>Uses the store the factory creates (stores add their own shorthand, such as <c>UseSqlite</c>).</summary>
    public JobkeeperOptions UseStore(Func<IServiceProvider, IJobStore> factory) => UseStore(factory, problems: null);

    /// <summary>
    /// Uses the store the factory creates; <paramref name="problems"/> says what is wrong with the store's settings
    /// (one line each, naming the configuration key), checked with the rest of these options when the host starts.
    /// </summary>
    public JobkeeperOptions UseStore(Func<IServiceProvider, IJobStore> factory, Func<IServiceProvider, IEnumerable<string>>? problems)
    {
        StoreFactory = factory;
        StoreProblems = problems;
        return this;
    }
}
