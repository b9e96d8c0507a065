using System.Collections.Concurrent;
using Jobkeeper.Storage;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Workers;

/// <summary>
/// Which job types something can run: the handlers registered in this process, the types external workers claimed
/// through this instance, and — through the store, so every instance knows — those of every other instance. The
/// reaper asks it before it queues a job again: a job whose type nothing runs would otherwise wait in the queue forever.
/// </summary>
internal sealed class JobRunners
{
    private readonly HashSet<string> _handlers;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _claimed = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _recorded = new(StringComparer.Ordinal);
    private readonly IJobStore _store;
    private readonly TimeProvider _time;
    private readonly TimeSpan _seenWithin;

    public JobRunners(IEnumerable<JobHandlerRegistration> registrations, IJobStore store, TimeProvider time, IOptions<JobkeeperOptions> options)
    {
        _handlers = new HashSet<string>(registrations.Select(r => r.Type), StringComparer.Ordinal);
        _store = store;
        _time = time;
        _seenWithin = options.Value.Workers.RunnerSeenWithin;
    }

    /// <summary>How often what this process runs is written to the store: often enough that the record never ages out.</summary>
    public TimeSpan RecordInterval => _seenWithin / 4 < TimeSpan.FromMinutes(1) ? _seenWithin / 4 : TimeSpan.FromMinutes(1);

    /// <summary>
    /// A worker claims these types through this instance. A type this instance has not recorded within
    /// <see cref="RecordInterval"/> is written to the store before the claim, so a reaper on any instance knows of it
    /// before the claimed lease can expire; otherwise memory only (the claim's hot path stays free of writes).
    /// </summary>
    public ValueTask ClaimingAsync(IEnumerable<string> types, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        Dictionary<string, DateTimeOffset>? due = null;
        foreach (var type in types)
        {
            _claimed[type] = now;
            if (!_handlers.Contains(type) && (!_recorded.TryGetValue(type, out var recordedAt) || now - recordedAt >= RecordInterval))
            {
                (due ??= new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal))[type] = now;
            }
        }

        return due is null ? ValueTask.CompletedTask : new ValueTask(RecordNowAsync(due, cancellationToken));
    }

    private async Task RecordNowAsync(Dictionary<string, DateTimeOffset> due, CancellationToken cancellationToken)
    {
        try
        {
            await _store.RecordRunnersAsync(due, cancellationToken).ConfigureAwait(false);
            foreach (var (type, seenAt) in due)
            {
                _recorded[type] = seenAt;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The claim goes on; the periodic record tries again (what is not recorded stays due).
        }
    }

    /// <summary>Writes the types this process runs (handlers, and types claimed since the last write) to the store.</summary>
    public async Task RecordAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var due = _handlers.ToDictionary(t => t, _ => now, StringComparer.Ordinal);
        foreach (var (type, claimedAt) in _claimed)
        {
            // Recorded as of the claim, not of this write, so a worker that stopped ages out on time.
            if (!_handlers.Contains(type) && (!_recorded.TryGetValue(type, out var recordedAt) || claimedAt > recordedAt))
            {
                due[type] = claimedAt;
            }
        }

        await _store.RecordRunnersAsync(due, cancellationToken).ConfigureAwait(false);
        foreach (var (type, seenAt) in due)
        {
            _recorded[type] = seenAt;
        }
    }

    /// <summary>The types something runs now: this process's handlers, and whatever any instance recorded recently.</summary>
    public async Task<IReadOnlySet<string>> GetRunnableAsync(CancellationToken cancellationToken)
    {
        var runnable = new HashSet<string>(_handlers, StringComparer.Ordinal);
        foreach (var (type, claimedAt) in _claimed)
        {
            if (_time.GetUtcNow() - claimedAt <= _seenWithin)
            {
                runnable.Add(type);
            }
        }

        runnable.UnionWith(await _store.GetRunnersAsync(_time.GetUtcNow() - _seenWithin, cancellationToken).ConfigureAwait(false));
        return runnable;
    }
}
