namespace Jobkeeper.Workers;

/// <summary>Settings of one job type's in-process handler.</summary>
public sealed class JobHandlerOptions
{
    /// <summary>Handlers of this type running at once in this process; null for only the overall limit.</summary>
    public int? MaxConcurrency { get; set; }

    /// <summary>An attempt running longer than this is cancelled and fails (and is retried if attempts remain). Null: no limit.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Backoff for this type; null for <see cref="JobWorkerOptions.RetryByType"/> or else <see cref="JobWorkerOptions.Retry"/>.</summary>
    public RetryPolicy? Retry { get; set; }
}
