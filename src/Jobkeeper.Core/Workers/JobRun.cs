using Jobkeeper.Model;

namespace Jobkeeper.Workers;

/// <summary>Why a running attempt was told to stop. The first reason wins.</summary>
internal enum RunStopReason
{
    None = 0,
    CancelRequested,
    Timeout,
    Shutdown,
    LeaseLost,
}

/// <summary>
/// One attempt of one job in this process: its lease, its cancellation, and the grace timer after which a
/// handler that ignores cancellation is abandoned (its late result discarded, its slot freed).
/// </summary>
internal sealed class JobRun : IDisposable
{
    private readonly CancellationTokenSource _cancellation;
    private readonly CancellationTokenRegistration _onCancelled;
    private readonly TaskCompletionSource _abandoned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TimeProvider _time;
    private readonly TimeSpan _grace;
    private readonly ITimer? _timeoutTimer;
    private ITimer? _abandonTimer;
    private int _stopReason;
    private long _leaseExpiresTicks;

    public JobRun(Job job, JobHandlerRegistration registration, TimeProvider time, TimeSpan grace)
    {
        Job = job;
        LeaseToken = job.LeaseToken ?? throw new ArgumentException("A claimed job has a lease token.", nameof(job));
        Registration = registration;
        _time = time;
        _grace = grace;
        LeaseExpiresAt = job.LeaseExpiresAt ?? time.GetUtcNow();
        _cancellation = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _onCancelled = _cancellation.Token.UnsafeRegister(static state => ((JobRun)state!).OnCancelled(), this);
        if (registration.Options.Timeout is { } timeout)
        {
            // Through Stop, so the reason is recorded before the handler can see its token fire.
            _timeoutTimer = time.CreateTimer(static state => ((JobRun)state!).Stop(RunStopReason.Timeout), this, timeout, Timeout.InfiniteTimeSpan);
        }
    }

    public Job Job { get; }

    public string LeaseToken { get; }

    public JobHandlerRegistration Registration { get; }

    public CancellationToken CancellationToken => _cancellation.Token;

    /// <summary>The run's span in the job's trace (null when nobody records it): the parent of the lease renewals.</summary>
    public System.Diagnostics.Activity? Span { get; set; }

    public RunStopReason StopReason => (RunStopReason)Volatile.Read(ref _stopReason);

    /// <summary>Completes once the handler has had its grace period after being told to stop.</summary>
    public Task Abandoned => _abandoned.Task;

    /// <summary>The run's whole life: handler and settling. Set when it starts.</summary>
    public Task Completion { get; set; } = Task.CompletedTask;

    public DateTimeOffset LeaseExpiresAt
    {
        get => new(Interlocked.Read(ref _leaseExpiresTicks), TimeSpan.Zero);
        set => Interlocked.Exchange(ref _leaseExpiresTicks, value.UtcTicks);
    }

    /// <summary>Tells the handler to stop. Cancellation callbacks run on the thread pool, never on the caller (which may be the store's writer).</summary>
    public void Stop(RunStopReason reason)
    {
        if (Interlocked.CompareExchange(ref _stopReason, (int)reason, 0) != 0)
        {
            return;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static run =>
        {
            try
            {
                run._cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The run finished meanwhile.
            }
        }, this, preferLocal: false);
    }

    private void OnCancelled()
    {
        _abandonTimer = _time.CreateTimer(static state => ((JobRun)state!)._abandoned.TrySetResult(), this, _grace, Timeout.InfiniteTimeSpan);
    }

    public void Dispose()
    {
        _onCancelled.Dispose();
        _timeoutTimer?.Dispose();
        _abandonTimer?.Dispose();
        _cancellation.Dispose();
    }
}
