using System.Text.Json;

namespace Jobkeeper.Workers;

/// <summary>How jobs are run: leases, concurrency, polling, reaping, cancellation and shutdown. <c>AddJobkeeper(o => o.Workers...)</c>.</summary>
public sealed class JobWorkerOptions
{
    /// <summary>Names this process as a lease owner; unique per process so a restarted instance is a new owner.</summary>
    public string WorkerId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>How long a claim holds a job without a heartbeat. A dead worker's jobs come back after at most this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The lease of a job an application sets running itself (an update to <c>running</c> without a worker's claim):
    /// how long it may go without an update before it is recovered. Long enough for real work between two progress
    /// updates; an update may set its own with <c>lease_seconds</c>. Jobs this process's <see cref="JobManager"/>
    /// set running are renewed while the process lives, so this bounds only how long a dead driver's job stays running.
    /// </summary>
    public TimeSpan AppLeaseDuration { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How long a job type counts as runnable after a handler or worker last asked for it. A job whose lease expires is
    /// queued again only when its type is runnable; otherwise it fails with <c>no_runner</c> instead of waiting forever.
    /// </summary>
    public TimeSpan RunnerSeenWithin { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often running in-process jobs renew their lease; by default a third of the lease.</summary>
    public TimeSpan? HeartbeatInterval { get; set; }

    /// <summary>
    /// The queues this process's handlers take jobs from (<c>Jobkeeper:Workers:Queues</c>); empty (the default): every
    /// queue. A handler runs its type's jobs in these queues only.
    /// </summary>
    public IList<string> Queues { get; set; } = [];

    /// <summary>
    /// In-process handlers running at once, over all types. A returned handler's slot takes the next job while its
    /// outcome is committed (the job stays running under its lease until then); at most this many outcomes wait so.
    /// </summary>
    public int MaxConcurrency { get; set; } = Math.Max(8, Environment.ProcessorCount * 4);

    /// <summary>Fallback poll for work when no signal arrives (jobs queued by another process, for instance).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often expired leases are looked for. Runs whether or not this process has handlers.</summary>
    public TimeSpan ReapInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a running job asked to cancel may take to stop before it is marked cancelled anyway.</summary>
    public TimeSpan CancelGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>On shutdown, how long running handlers may take to finish before their leases are released.</summary>
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Backoff between attempts, unless the type has its own in <see cref="RetryByType"/> or its handler options.</summary>
    public RetryPolicy Retry { get; set; } = new();

    /// <summary>Backoff per job type, for in-process handlers and external workers alike.</summary>
    public Dictionary<string, RetryPolicy> RetryByType { get; } = new(StringComparer.Ordinal);

    internal RetryPolicy RetryFor(string type) => RetryByType.TryGetValue(type, out var policy) ? policy : Retry;

    /// <summary>How handler inputs are read and results written (snake_case by default, like the API).</summary>
    public JsonSerializerOptions SerializerOptions { get; set; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    internal TimeSpan EffectiveHeartbeatInterval => HeartbeatInterval ?? LeaseDuration / 3;
}
