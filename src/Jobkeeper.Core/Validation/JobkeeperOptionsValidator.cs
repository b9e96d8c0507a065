using Jobkeeper.Workers;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Validation;

/// <summary>
/// Refuses <see cref="JobkeeperOptions"/> that cannot work (a zero lease, a negative interval, no worker id), and the
/// chosen store's own options, at host start rather than at the first job. Keys are those of the configuration
/// section <c>Jobkeeper</c>, whether the value came from there or from code.
/// </summary>
internal sealed class JobkeeperOptionsValidator(IServiceProvider services) : IValidateOptions<JobkeeperOptions>
{
    public const string Section = "Jobkeeper";

    private static readonly TimeSpan Millisecond = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, JobkeeperOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new OptionProblems();
        problems.Range($"{Section}:{nameof(options.CleanupBatchSize)}", options.CleanupBatchSize, 1, 100_000);
        problems.NotEmpty($"{Section}:{nameof(options.DefaultActor)}", options.DefaultActor);

        var cache = $"{Section}:{nameof(options.Cache)}";
        problems.Range($"{cache}:{nameof(options.Cache.Ttl)}", options.Cache.Ttl, Second, TimeSpan.FromDays(365));
        problems.Range($"{cache}:{nameof(options.Cache.MaxEntries)}", options.Cache.MaxEntries, 1, 100_000_000);
        problems.Range($"{cache}:{nameof(options.Cache.SweepInterval)}", options.Cache.SweepInterval, Millisecond, Day);

        CheckWorkers(problems, options.Workers);
        CheckQueues(problems, options);

        var schedules = $"{Section}:{nameof(options.Schedules)}";
        problems.Range($"{schedules}:{nameof(options.Schedules.PollInterval)}", options.Schedules.PollInterval, Millisecond, TimeSpan.FromHours(1));
        problems.Range($"{schedules}:{nameof(options.Schedules.MisfireGrace)}", options.Schedules.MisfireGrace, TimeSpan.Zero, Day);

        var retention = options.Retention;
        var retentionKey = $"{Section}:{nameof(options.Retention)}";
        foreach (var (key, days) in new[]
                 {
                     (nameof(retention.Days), retention.Days), (nameof(retention.Completed), retention.Completed),
                     (nameof(retention.Failed), retention.Failed), (nameof(retention.Cancelled), retention.Cancelled),
                 })
        {
            if (days is { } value)
            {
                problems.Range($"{retentionKey}:{key}", value, 0, 36_500);
            }
        }

        problems.Range($"{retentionKey}:{nameof(retention.Interval)}", retention.Interval, Millisecond, Day);

        var maintenance = $"{Section}:{nameof(options.Maintenance)}";
        problems.Range($"{maintenance}:{nameof(options.Maintenance.ElectionInterval)}", options.Maintenance.ElectionInterval, Millisecond, Hour);
        problems.Range($"{maintenance}:{nameof(options.Maintenance.LeaderCheckInterval)}", options.Maintenance.LeaderCheckInterval, Millisecond, Hour);

        if (options.StoreProblems is { } storeProblems)
        {
            foreach (var problem in storeProblems(services))
            {
                problems.Add(problem);
            }
        }

        return problems.Result();
    }

    /// <summary>Each declared queue's name and settings, by the rules a change through the API meets (<see cref="Queues.QueueRules"/>).</summary>
    private static void CheckQueues(OptionProblems problems, JobkeeperOptions options)
    {
        foreach (var (name, declared) in options.Queues)
        {
            var key = $"{Section}:{nameof(options.Queues)}:{name}";
            if (!Model.JobQueues.IsValid(name))
            {
                problems.Add($"{key}: the queue name must be {Model.JobValidator.QueueRule}");
                continue;
            }

            try
            {
                Queues.QueueRules.Validate(Queues.QueueManager.Declared(new Model.QueueSettings { Name = name }, declared));
            }
            catch (Errors.JobValidationException ex)
            {
                problems.Add($"{key}: {ex.Field} {ex.Problem}");
            }
        }
    }

    private static void CheckWorkers(OptionProblems problems, JobWorkerOptions workers)
    {
        var key = $"{Section}:{nameof(JobkeeperOptions.Workers)}";
        problems.NotEmpty($"{key}:{nameof(workers.WorkerId)}", workers.WorkerId);
        for (var i = 0; i < workers.Queues.Count; i++)
        {
            if (!Model.JobQueues.IsValid(workers.Queues[i]))
            {
                problems.Add($"{key}:{nameof(workers.Queues)}:{i} must be {Model.JobValidator.QueueRule}; it is '{workers.Queues[i]}'");
            }
        }

        // The same bounds as a worker's own lease_seconds.
        problems.Range($"{key}:{nameof(workers.LeaseDuration)}", workers.LeaseDuration, WorkQueue.MinLease, WorkQueue.MaxLease);
        problems.Range($"{key}:{nameof(workers.AppLeaseDuration)}", workers.AppLeaseDuration, Second, Day);
        problems.Range($"{key}:{nameof(workers.RunnerSeenWithin)}", workers.RunnerSeenWithin, Second, TimeSpan.FromDays(7));
        if (workers.HeartbeatInterval is { } heartbeat)
        {
            // Not tied to the lease: a beat longer than the lease is a way to test lease loss.
            problems.Range($"{key}:{nameof(workers.HeartbeatInterval)}", heartbeat, Millisecond, Hour);
        }

        problems.Range($"{key}:{nameof(workers.MaxConcurrency)}", workers.MaxConcurrency, 1, 10_000);
        problems.Range($"{key}:{nameof(workers.PollInterval)}", workers.PollInterval, Millisecond, Day);
        problems.Range($"{key}:{nameof(workers.ReapInterval)}", workers.ReapInterval, Millisecond, Day);
        problems.Range($"{key}:{nameof(workers.CancelGracePeriod)}", workers.CancelGracePeriod, TimeSpan.Zero, Hour);
        problems.Range($"{key}:{nameof(workers.ShutdownGracePeriod)}", workers.ShutdownGracePeriod, TimeSpan.Zero, Hour);
        CheckRetry(problems, $"{key}:{nameof(workers.Retry)}", workers.Retry);
        foreach (var (type, policy) in workers.RetryByType)
        {
            CheckRetry(problems, $"{key}:{nameof(workers.RetryByType)}:{type}", policy);
        }
    }

    private static void CheckRetry(OptionProblems problems, string key, RetryPolicy? policy)
    {
        if (policy is null)
        {
            problems.Add($"{key} must be set");
            return;
        }

        problems.Range($"{key}:{nameof(policy.BaseDelay)}", policy.BaseDelay, TimeSpan.Zero, Day);
        // May be below the base delay: every delay is then the cap.
        problems.Range($"{key}:{nameof(policy.MaxDelay)}", policy.MaxDelay, TimeSpan.Zero, TimeSpan.FromDays(7));
        problems.Range($"{key}:{nameof(policy.Factor)}", policy.Factor, 1, 100);
        problems.Range($"{key}:{nameof(policy.Jitter)}", policy.Jitter, 0, 1);
    }
}
