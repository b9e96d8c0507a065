using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Jobkeeper.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Workers;

/// <summary>
/// Runs the registered in-process handlers. One dispatch loop claims due jobs while there is room (overall
/// and per type), woken at once when a job of a handled type is queued or a slot frees, with polling as a
/// fallback; one heartbeat loop renews the leases of every running job. On shutdown it stops claiming,
/// gives running handlers a grace period, then releases the leases of the unfinished so another instance
/// takes them at once.
/// </summary>
internal sealed class JobWorkerEngine : IHostedService, IAsyncDisposable
{
    private readonly Dictionary<string, TypeSlot> _slots;
    private readonly ConcurrentDictionary<string, JobRun> _running = new(StringComparer.Ordinal);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopClaiming = new();
    private readonly CancellationTokenSource _stopHeartbeats = new();
    private readonly IJobStore _store;
    private readonly WorkQueue _queue;
    private readonly JobSignals _signals;
    private readonly IServiceScopeFactory _scopes;
    private readonly TimeProvider _time;
    private readonly JobWorkerOptions _options;
    private readonly IReadOnlyList<string> _queues;
    private readonly ILogger<JobWorkerEngine> _logger;
    private IDisposable? _queuedSubscription;
    private Task _dispatch = Task.CompletedTask;
    private Task _heartbeats = Task.CompletedTask;
    private int _runningTotal;
    private int _settling;

    public JobWorkerEngine(IEnumerable<JobHandlerRegistration> registrations, IJobStore store, WorkQueue queue, JobSignals signals,
        IServiceScopeFactory scopes, TimeProvider time, IOptions<JobkeeperOptions> options, ILogger<JobWorkerEngine> logger)
    {
        _slots = new Dictionary<string, TypeSlot>(StringComparer.Ordinal);
        foreach (var registration in registrations)
        {
            if (!_slots.TryAdd(registration.Type, new TypeSlot(registration)))
            {
                throw new InvalidOperationException($"Two handlers are registered for job type '{registration.Type}'; register one per type.");
            }
        }

        _store = store;
        _queue = queue;
        _signals = signals;
        _scopes = scopes;
        _time = time;
        _options = options.Value.Workers;
        _queues = [.. _options.Queues.Distinct(StringComparer.Ordinal)];
        _logger = logger;
        if (_options.MaxConcurrency is < 1 or > JobLimits.MaxClaim)
        {
            throw new InvalidOperationException($"Workers.MaxConcurrency must be between 1 and {JobLimits.MaxClaim}; it is {_options.MaxConcurrency}.");
        }

        if (_options.LeaseDuration < WorkQueue.MinLease || _options.LeaseDuration > WorkQueue.MaxLease)
        {
            throw new InvalidOperationException(
                $"Workers.LeaseDuration must be between {WorkQueue.MinLease} and {WorkQueue.MaxLease}; it is {_options.LeaseDuration}.");
        }
    }

    /// <summary>Handlers running in this process now (not counting finished attempts whose outcome is still being stored).</summary>
    public int RunningCount => Volatile.Read(ref _runningTotal);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_slots.Count == 0)
        {
            return Task.CompletedTask;
        }

        _queuedSubscription = _signals.OnQueued(_slots.Keys, Wake);
        _dispatch = Task.Run(() => DispatchAsync(_stopClaiming.Token), CancellationToken.None);
        _heartbeats = Task.Run(() => HeartbeatAsync(_stopHeartbeats.Token), CancellationToken.None);
        _logger.LogInformation("Worker {WorkerId} runs {JobTypes} with up to {MaxConcurrency} jobs at once, lease {LeaseSeconds} s",
            _options.WorkerId, string.Join(", ", _slots.Keys), _options.MaxConcurrency, _options.LeaseDuration.TotalSeconds);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_slots.Count == 0 || _stopClaiming.IsCancellationRequested)
        {
            return;
        }

        await _stopClaiming.CancelAsync().ConfigureAwait(false);
        _queuedSubscription?.Dispose();
        await _dispatch.ConfigureAwait(false);

        var unfinished = _running.Values.Select(r => r.Completion).ToArray();
        if (unfinished.Length > 0)
        {
            _logger.LogInformation("Waiting up to {GraceSeconds} s for {RunningCount} running jobs to finish",
                _options.ShutdownGracePeriod.TotalSeconds, unfinished.Length);
            try
            {
                await Task.WhenAll(unfinished).WaitAsync(_options.ShutdownGracePeriod, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                // Grace is over: give the rest back.
            }
        }

        foreach (var run in _running.Values)
        {
            run.Stop(RunStopReason.Shutdown);
            try
            {
                await _queue.ReleaseAsync(run.Job.Id, run.LeaseToken, CancellationToken.None).ConfigureAwait(false);
                _logger.LogInformation("Released job {JobId} ({JobType}) unfinished at shutdown; it is queued for another worker", run.Job.Id, run.Job.Type);
            }
            catch (Exception ex) when (ex is LeaseLostException or JobNotFoundException)
            {
                // It finished, was cancelled or was deleted meanwhile.
            }
            catch (Exception ex)
            {
                _logger.LogWarning(ex, "Could not release job {JobId}; its lease will expire instead", run.Job.Id);
            }
        }

        await _stopHeartbeats.CancelAsync().ConfigureAwait(false);
        await _heartbeats.ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        _queuedSubscription?.Dispose();
        _stopClaiming.Dispose();
        _stopHeartbeats.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    private async Task DispatchAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                while (_wake.Reader.TryRead(out _))
                {
                }

                var claimedAt = _time.GetUtcNow();
                var (claimed, asked, limits) = await ClaimAsync(stop).ConfigureAwait(false);
                if (claimed > 0 && claimed == asked)
                {
                    continue;
                }

                var delay = _options.PollInterval;
                if (claimed == 0 && limits is { Count: > 0 })
                {
                    delay = await UntilNextDueAsync(limits.Keys, claimedAt, delay, stop).ConfigureAwait(false);
                }

                await WaitForWakeAsync(delay, stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopped claiming.
        }
    }

    /// <summary>Claims as many due jobs as there is room for; returns how many it got, how many it asked for, and per type how many.</summary>
    private async Task<(int Claimed, int Asked, Dictionary<string, int>? Limits)> ClaimAsync(CancellationToken stop)
    {
        var capacity = _options.MaxConcurrency - Volatile.Read(ref _runningTotal);
        if (capacity <= 0)
        {
            return (0, 0, null);
        }

        var limits = new Dictionary<string, int>(_slots.Count, StringComparer.Ordinal);
        var asked = 0;
        foreach (var slot in _slots.Values)
        {
            var room = slot.Registration.Options.MaxConcurrency is { } max ? Math.Min(max - Volatile.Read(ref slot.Running), capacity) : capacity;
            if (room > 0)
            {
                limits[slot.Registration.Type] = room;
                asked += room;
            }
        }

        if (limits.Count == 0)
        {
            return (0, 0, null);
        }

        asked = Math.Min(asked, capacity);
        try
        {
            var jobs = await _queue.ClaimAsync(_options.WorkerId, limits, _queues, asked, _options.LeaseDuration, stop).ConfigureAwait(false);
            foreach (var job in jobs)
            {
                Start(job);
            }

            return (jobs.Count, asked, limits);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(ex, "Claiming jobs failed; trying again in {PollIntervalMs} ms", _options.PollInterval.TotalMilliseconds);
            return (0, asked, null);
        }
    }

    /// <summary>
    /// How long to wait for the next scheduled job, at most <paramref name="atMost"/>. A job already due when the claim ran and
    /// not taken is held back by its queue (paused, at its limit): a signal or the poll wakes the wait for it, not its
    /// run_at, which would make the loop claim again at once, over and over.
    /// </summary>
    private async Task<TimeSpan> UntilNextDueAsync(IReadOnlyCollection<string> types, DateTimeOffset claimedAt, TimeSpan atMost, CancellationToken stop)
    {
        try
        {
            if (await _store.GetNextRunAtAsync(types, _queues, stop).ConfigureAwait(false) is { } next && next > claimedAt)
            {
                var until = next - _time.GetUtcNow();
                return until < atMost ? until : atMost;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(ex, "Looking up the next scheduled job failed");
        }

        return atMost;
    }

    private async Task WaitForWakeAsync(TimeSpan delay, CancellationToken stop)
    {
        if (delay <= TimeSpan.Zero || _wake.Reader.TryPeek(out _))
        {
            return;
        }

        try
        {
            await _wake.Reader.WaitToReadAsync(stop).AsTask().WaitAsync(delay, _time, stop).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Poll, or a scheduled job is due.
        }
    }

    private void Start(Job job)
    {
        var slot = _slots[job.Type];
        var run = new JobRun(job, slot.Registration, _time, _options.CancelGracePeriod);
        Interlocked.Increment(ref slot.Running);
        Interlocked.Increment(ref _runningTotal);
        _running[job.Id] = run;
        run.Completion = Task.Run(() => RunAsync(run, slot));
    }

    private async Task RunAsync(JobRun run, TypeSlot slot)
    {
        // The run is a span of the job's trace: the handler's calls and the outcome recorded below are its children.
        using var span = JobTrace.StartJobSpan("jobkeeper.job.run", run.Job, ActivityKind.Consumer);
        span?.SetTag("jobkeeper.worker.id", _options.WorkerId);
        run.Span = span;
        var settling = false;
        try
        {
            HandlerOutcome outcome;
            using (_signals.Watch(run.Job.Id, changed => OnRunChanged(run, changed)))
            {
                outcome = await ExecuteAsync(run).ConfigureAwait(false);
            }

            if (outcome.Exception is { } thrown and not JobWaitingException)
            {
                JobTrace.Failed(span, thrown);
            }

            // The handler is done, so its slot may take the next job while the outcome waits for its commit (what
            // holds a drain back is that wait, not the handlers). An abandoned handler may still run: its slot frees
            // only once its outcome is stored, as before.
            if (outcome.Kind != OutcomeKind.Abandoned && TryStartSettling())
            {
                settling = true;
                FreeSlot(slot);
            }

            await SettleAsync(run, outcome).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Settling job {JobId} failed; its lease will expire and it will be retried", run.Job.Id);
        }
        finally
        {
            _running.TryRemove(new KeyValuePair<string, JobRun>(run.Job.Id, run));
            if (settling)
            {
                Interlocked.Decrement(ref _settling);
            }
            else
            {
                FreeSlot(slot);
            }

            run.Dispose();
        }
    }

    /// <summary>
    /// Counts one more outcome waiting for its commit without a slot, unless <see cref="JobWorkerOptions.MaxConcurrency"/>
    /// of them already wait: then the run keeps its slot until it settles, so a slow store slows the claims down.
    /// </summary>
    private bool TryStartSettling()
    {
        if (Interlocked.Increment(ref _settling) <= _options.MaxConcurrency)
        {
            return true;
        }

        Interlocked.Decrement(ref _settling);
        return false;
    }

    private void FreeSlot(TypeSlot slot)
    {
        Interlocked.Decrement(ref slot.Running);
        Interlocked.Decrement(ref _runningTotal);
        Wake();
    }

    /// <summary>Calls the handler and waits for it, or for its grace period once it was told to stop.</summary>
    private async Task<HandlerOutcome> ExecuteAsync(JobRun run)
    {
        await using var scope = _scopes.CreateAsyncScope();
        var context = new JobContext(run.Job, run.LeaseToken, _queue, _options.LeaseDuration, scope.ServiceProvider, _options.SerializerOptions,
            run.CancellationToken);
        try
        {
            var handler = run.Registration.InvokeAsync(context, run.CancellationToken);
            if (!handler.IsCompleted && await Task.WhenAny(handler, run.Abandoned).ConfigureAwait(false) != handler)
            {
                ObserveLater(handler, run.Job.Id);
                return HandlerOutcome.Abandoned;
            }

            return HandlerOutcome.Returned(await handler.ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            return HandlerOutcome.Threw(ex);
        }
    }

    /// <summary>Records how the attempt ended, under its lease: completed, failed (maybe retried), cancelled, or released.</summary>
    private async Task SettleAsync(JobRun run, HandlerOutcome outcome)
    {
        var id = run.Job.Id;
        var reason = run.StopReason;
        if (outcome.Exception is JobWaitingException waiting)
        {
            _logger.LogInformation("Job {JobId} waits for the answer to {PromptKey}; its worker slot is free", id, waiting.Key);
            return;
        }

        try
        {
            switch (reason)
            {
                case RunStopReason.LeaseLost:
                    _logger.LogInformation("Job {JobId} was taken from this worker (lease lost, deleted or changed by hand); its outcome is discarded", id);
                    return;
                case RunStopReason.Shutdown when outcome.Kind != OutcomeKind.Returned:
                    await _queue.ReleaseAsync(id, run.LeaseToken, CancellationToken.None).ConfigureAwait(false);
                    return;
                case RunStopReason.CancelRequested:
                    // The job ends cancelled whatever the handler did; the transition discards any result.
                    await _queue.FailAsync(id, run.LeaseToken, JobErrors.Of("cancelled", "The job was cancelled."), retry: false,
                        cancellationToken: CancellationToken.None).ConfigureAwait(false);
                    return;
                case RunStopReason.Timeout when outcome.Kind != OutcomeKind.Returned:
                    var timeout = run.Registration.Options.Timeout ?? TimeSpan.Zero;
                    await FailAsync(run, JobErrors.Of("timeout",
                        $"The attempt ran longer than the {timeout.TotalSeconds:0.###} s timeout of '{run.Job.Type}'" +
                        (outcome.Kind == OutcomeKind.Abandoned ? " and ignored cancellation; it was abandoned." : ".")), retry: true).ConfigureAwait(false);
                    return;
            }

            if (outcome.Kind == OutcomeKind.Threw)
            {
                var permanent = outcome.Exception as PermanentJobFailureException;
                await FailAsync(run, JobErrors.FromException(outcome.Exception!, permanent?.Code ?? (permanent is null ? "exception" : "permanent_failure")),
                    retry: permanent is null).ConfigureAwait(false);
                return;
            }

            JsonElement? result;
            try
            {
                result = ToJson(outcome.Result);
            }
            catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException or ArgumentException)
            {
                await FailAsync(run, JobErrors.FromException(ex, "result_not_serializable"), retry: true).ConfigureAwait(false);
                return;
            }

            await _queue.CompleteAsync(id, run.LeaseToken, result, CancellationToken.None).ConfigureAwait(false);
        }
        catch (LeaseLostException ex)
        {
            _logger.LogInformation("Outcome of job {JobId} discarded: {Reason}", id, ex.Message);
        }
        catch (JobNotFoundException)
        {
            _logger.LogInformation("Job {JobId} was deleted while it ran; its outcome is discarded", id);
        }
    }

    private Task FailAsync(JobRun run, JobError error, bool retry)
    {
        var outcome = retry && run.Job.Attempt < run.Job.MaxAttempts ? "it will be retried" : "no attempt follows";
        _logger.LogWarning("Job {JobId} ({JobType}) attempt {Attempt} of {MaxAttempts} failed, {Outcome}: {ErrorCode}: {ErrorMessage}",
            run.Job.Id, run.Job.Type, run.Job.Attempt, run.Job.MaxAttempts, outcome, error.Code, error.Message);
        return _queue.FailAsync(run.Job.Id, run.LeaseToken, error, retry, run.Registration.Options.Retry, CancellationToken.None);
    }

    private JsonElement? ToJson(object? result) => result switch
    {
        null => null,
        JsonElement element => element,
        _ => JsonSerializer.SerializeToElement(result, result.GetType(), _options.SerializerOptions),
    };

    /// <summary>Reacts to committed changes of a running job: a cancel request, or the job no longer being ours.</summary>
    private static void OnRunChanged(JobRun run, Job? job)
    {
        if (job is null || !string.Equals(job.LeaseToken, run.LeaseToken, StringComparison.Ordinal))
        {
            run.Stop(RunStopReason.LeaseLost);
        }
        else if (job.CancelRequestedAt is not null)
        {
            run.Stop(RunStopReason.CancelRequested);
        }
        else if (job.LeaseExpiresAt is { } expires)
        {
            run.LeaseExpiresAt = expires;
        }
    }

    private async Task HeartbeatAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_options.EffectiveHeartbeatInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                var renewals = new List<Task>();
                var renewBefore = _time.GetUtcNow() + _options.LeaseDuration - (_options.EffectiveHeartbeatInterval / 2);
                foreach (var run in _running.Values)
                {
                    if (run.StopReason == RunStopReason.None && run.LeaseExpiresAt < renewBefore)
                    {
                        renewals.Add(RenewAsync(run));
                    }
                }

                await Task.WhenAll(renewals).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task RenewAsync(JobRun run)
    {
        // A renewal belongs to the run it keeps alive (this flow only: an async method's changes to the current activity stay inside it).
        Activity.Current = run.Span;
        try
        {
            var job = await _queue.HeartbeatAsync(run.Job.Id, run.LeaseToken, _options.LeaseDuration, CancellationToken.None).ConfigureAwait(false);
            OnRunChanged(run, job);
        }
        catch (Exception ex) when (ex is LeaseLostException or JobNotFoundException)
        {
            run.Stop(RunStopReason.LeaseLost);
        }
        catch (Exception ex)
        {
            _logger.LogWarning(ex, "Renewing the lease of job {JobId} failed; trying again next beat", run.Job.Id);
        }
    }

    private void ObserveLater(Task handler, string jobId)
    {
        _logger.LogWarning("The handler of job {JobId} ignored cancellation for {GraceSeconds} s; it was abandoned and anything it does now is discarded",
            jobId, _options.CancelGracePeriod.TotalSeconds);
        _ = handler.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private sealed class TypeSlot(JobHandlerRegistration registration)
    {
        public readonly JobHandlerRegistration Registration = registration;
        public int Running;
    }

    private enum OutcomeKind
    {
        Returned,
        Threw,
        Abandoned,
    }

    private readonly record struct HandlerOutcome(OutcomeKind Kind, object? Result, Exception? Exception)
    {
        public static HandlerOutcome Abandoned => new(OutcomeKind.Abandoned, null, null);

        public static HandlerOutcome Returned(object? result) => new(OutcomeKind.Returned, result, null);

        public static HandlerOutcome Threw(Exception exception) => new(OutcomeKind.Threw, null, exception);
    }
}
