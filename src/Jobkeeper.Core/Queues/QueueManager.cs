using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Queues;

/// <summary>
/// Queues at run time: their settings (limits, partitions, rate limits, pause) and their state at a glance. Settings are
/// stored in the database, so a change holds for every instance at once and survives restarts.
/// </summary>
public sealed class QueueManager
{
    /// <summary>How often a settings change is tried again when another change got in first.</summary>
    private const int Attempts = 5;

    private readonly IJobStore _store;
    private readonly JobKernel _kernel;
    private readonly ILogger<QueueManager> _logger;

    internal QueueManager(JobKernel kernel, ILogger<QueueManager> logger)
    {
        _kernel = kernel;
        _store = kernel.Store;
        _logger = logger;
    }

    /// <summary>Every queue that has jobs or settings (and <c>default</c>), by name.</summary>
    public async Task<IReadOnlyList<QueueInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var now = _kernel.Now();
        var stats = await _store.GetQueueStatsAsync(null, now, cancellationToken).ConfigureAwait(false);
        return [.. stats.Select(s => ToInfo(s, now))];
    }

    /// <summary>One queue; <see cref="QueueNotFoundException"/> when it has neither jobs nor settings.</summary>
    public async Task<QueueInfo> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        QueueRules.ValidateName(name);
        var now = _kernel.Now();
        var stats = await _store.GetQueueStatsAsync(name, now, cancellationToken).ConfigureAwait(false);
        if (stats.Count == 0)
        {
            return name == JobQueues.Default ? ToInfo(EmptyStats(name), now) : throw new QueueNotFoundException(name);
        }

        return ToInfo(stats[0], now);
    }

    /// <summary>Applies a merge patch to a queue's settings. Lowering a limit below what runs cancels nothing: new claims wait.</summary>
    public Task<QueueInfo> UpdateAsync(string name, UpdateQueueRequest patch, JobActor? actor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return ChangeAsync(name, (current, now) => QueueRules.Apply(current, patch, now), "changed", actor, mustExist: true, cancellationToken);
    }

    /// <summary>Pauses the queue (or only <paramref name="type"/> in it): no claim on any instance takes its jobs once this returns.</summary>
    public Task<QueueInfo> PauseAsync(string name, string? type = null, JobActor? actor = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(name, (current, now) => QueueRules.Pause(current, type, paused: true, now), type is null ? "paused" : $"paused type {type}", actor,
            mustExist: true, cancellationToken);

    /// <summary>Resumes the queue (or <paramref name="type"/> in it); waiting claims wake at once.</summary>
    public Task<QueueInfo> ResumeAsync(string name, string? type = null, JobActor? actor = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(name, (current, now) => QueueRules.Pause(current, type, paused: false, now), type is null ? "resumed" : $"resumed type {type}", actor,
            mustExist: true, cancellationToken);

    /// <summary>Writes what a declaration gives (see <see cref="QueueOptions"/>); the queue exists from then on.</summary>
    public Task<QueueInfo> DeclareAsync(string name, QueueOptions declared, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(declared);
        return ChangeAsync(name, (current, now) =>
        {
            var next = Declared(current, declared);
            QueueRules.Validate(next);
            return next == current && current.Version > 0 ? current : next with { UpdatedAt = now, Version = current.Version + 1 };
        }, "declared", null, mustExist: false, cancellationToken);
    }

    /// <summary>The settings with the declared members written over them.</summary>
    internal static QueueSettings Declared(QueueSettings current, QueueOptions declared) => current with
    {
        ConcurrencyLimit = declared.ConcurrencyLimit ?? current.ConcurrencyLimit,
        Partition = declared.PartitionKey is { } key ? new QueuePartition { Key = key, Limit = declared.PartitionLimit } : current.Partition,
        RateLimit = declared.RateCount is { } count
            ? new QueueRateLimit { Count = count, PeriodSeconds = declared.RatePeriodSeconds ?? 0, PerKey = declared.RatePerKey }
            : current.RateLimit,
        Paused = declared.Paused ?? current.Paused,
    };

    private async Task<QueueInfo> ChangeAsync(string name, Func<QueueSettings, DateTimeOffset, QueueSettings> change, string what, JobActor? actor,
        bool mustExist, CancellationToken cancellationToken)
    {
        QueueRules.ValidateName(name);
        for (var attempt = 1; ; attempt++)
        {
            var stored = (await _store.GetQueueSettingsAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(q => q.Name == name);
            if (stored is null && mustExist && name != JobQueues.Default
                && (await _store.GetQueueStatsAsync(name, _kernel.Now(), cancellationToken).ConfigureAwait(false)).Count == 0)
            {
                throw new QueueNotFoundException(name);
            }

            var current = stored ?? new QueueSettings { Name = name };
            var next = change(current, _kernel.Now());
            if (ReferenceEquals(next, current))
            {
                // Nothing to change (pausing a paused queue): the same answer as the change would give.
                return await GetAsync(name, cancellationToken).ConfigureAwait(false);
            }

            if (await _store.SaveQueueSettingsAsync(stored, next, cancellationToken).ConfigureAwait(false))
            {
                _logger.LogInformation("Queue {Queue} {Change} by {Actor}: concurrency limit {ConcurrencyLimit}, partition {Partition}, rate limit {RateLimit}, paused {Paused}",
                    name, what, actor?.Name ?? "app", next.ConcurrencyLimit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none",
                    next.Partition is { } p ? $"{p.Key} (limit {p.Limit?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"})" : "none",
                    next.RateLimit is { } r ? $"{r.Count}/{r.PeriodSeconds}s{(r.PerKey ? " per key" : "")}" : "none", next.Paused);
                return await GetAsync(name, cancellationToken).ConfigureAwait(false);
            }

            if (attempt == Attempts)
            {
                throw new JobStateConflictException($"The settings of queue '{name}' kept changing while this change was made; read them again and retry.");
            }
        }
    }

    private static QueueStats EmptyStats(string name) =>
        new(new QueueSettings { Name = name }, JobStatusNames.All.ToDictionary(s => s, _ => 0L), null, null, 0, 0, 0);

    private static QueueInfo ToInfo(QueueStats stats, DateTimeOffset now) => new()
    {
        Name = stats.Settings.Name,
        Paused = stats.Settings.Paused,
        PausedTypes = stats.Settings.PausedTypes,
        ConcurrencyLimit = stats.Settings.ConcurrencyLimit,
        Partition = stats.Settings.Partition,
        RateLimit = stats.Settings.RateLimit,
        Counts = stats.Counts.ToDictionary(c => c.Key.ToName(), c => c.Value, StringComparer.Ordinal),
        Running = stats.Counts.GetValueOrDefault(JobStatus.Running),
        StartedInRateWindow = stats.StartedInRateWindow,
        OldestQueuedAgeSeconds = stats.OldestDueRunAt is { } due ? Math.Max(0, (now - due).TotalSeconds) : null,
        Throughput = new QueueThroughput(stats.FinishedLastMinute, stats.FinishedLast5Minutes, stats.FinishedLast15Minutes),
        UpdatedAt = stats.Settings.UpdatedAt,
    };
}
