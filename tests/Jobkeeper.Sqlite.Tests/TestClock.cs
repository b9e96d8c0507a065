using Microsoft.Extensions.Time.Testing;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// A fake clock that also knows which timers are armed on it. Code under test often computes a wait
/// ("the next job is due in 60 s") and only then creates its timer; advancing the clock in between
/// would make it wait 60 s from the new time. So a test first waits, in real time, until the timer it
/// means to fire is armed, and only then advances.
/// </summary>
internal sealed class TestClock : FakeTimeProvider
{
    public static readonly DateTimeOffset Origin = new(2026, 5, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly Lock _lock = new();
    private readonly List<TrackedTimer> _timers = [];

    public TestClock(DateTimeOffset? start = null)
        : base(start ?? Origin)
    {
    }

    /// <summary>How long since <see cref="Origin"/> on this clock.</summary>
    public TimeSpan Elapsed => GetUtcNow() - Origin;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var tracked = new TrackedTimer(this);
        tracked.Arm(dueTime, period);
        lock (_lock)
        {
            _timers.Add(tracked);
        }

        tracked.Inner = base.CreateTimer(callback, state, dueTime, period);
        return tracked;
    }

    /// <summary>Timers armed now: periodic ones not disposed, one-shot ones not disposed and not yet due.</summary>
    public IReadOnlyList<ArmedTimer> Armed()
    {
        var now = GetUtcNow();
        lock (_lock)
        {
            return _timers.Select(t => t.Snapshot()).Where(t => t.IsPeriodic || (t.DueTime != Timeout.InfiniteTimeSpan && t.DueAt > now)).ToList();
        }
    }

    /// <summary>Waits until a one-shot timer of <paramref name="dueTime"/> is armed (a <c>WaitAsync</c> timeout, a grace period).</summary>
    public Task WaitForTimerAsync(TimeSpan dueTime) =>
        WaitForTimerAsync(t => !t.IsPeriodic && t.DueTime == dueTime, $"a {dueTime.TotalSeconds} s timer");

    /// <summary>
    /// Waits until a one-shot timer armed to fire at <paramref name="at"/> exists (a wait for a scheduled job); with
    /// <paramref name="dueTime"/>, one armed that long before (another timer may be due at the same instant).
    /// </summary>
    public Task WaitForTimerDueAtAsync(DateTimeOffset at, TimeSpan? dueTime = null) =>
        WaitForTimerAsync(t => !t.IsPeriodic && (t.DueAt - at).Duration() <= TimeSpan.FromMilliseconds(1) && (dueTime is null || t.DueTime == dueTime),
            dueTime is null ? $"a timer due at {at:O}" : $"a {dueTime.Value.TotalSeconds} s timer due at {at:O}");

    /// <summary>Waits until a periodic timer of <paramref name="period"/> runs (a reaper or heartbeat loop).</summary>
    public Task WaitForPeriodicTimerAsync(TimeSpan period) =>
        WaitForTimerAsync(t => t.IsPeriodic && t.Period == period, $"a periodic {period.TotalSeconds} s timer");

    public Task WaitForTimerAsync(Func<ArmedTimer, bool> match, string what) =>
        Poll.UntilAsync(() => Armed().Any(match), what,
            () => $"clock at +{Elapsed.TotalSeconds} s; armed: " + string.Join(", ", Armed().Select(t => t.ToString())));

    private void Remove(TrackedTimer timer)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
        }
    }

    internal readonly record struct ArmedTimer(TimeSpan DueTime, TimeSpan Period, DateTimeOffset DueAt)
    {
        public bool IsPeriodic => Period != Timeout.InfiniteTimeSpan && Period != TimeSpan.Zero;

        public override string ToString() => IsPeriodic ? $"every {Period.TotalSeconds} s" : $"{DueTime.TotalSeconds} s due {DueAt:HH:mm:ss.ffffff}";
    }

    private sealed class TrackedTimer(TestClock clock) : ITimer
    {
        private readonly Lock _lock = new();
        private ArmedTimer _state;

        public ITimer? Inner { get; set; }

        public void Arm(TimeSpan dueTime, TimeSpan period)
        {
            lock (_lock)
            {
                _state = new ArmedTimer(dueTime, period, dueTime == Timeout.InfiniteTimeSpan ? DateTimeOffset.MaxValue : clock.GetUtcNow() + dueTime);
            }
        }

        public ArmedTimer Snapshot()
        {
            lock (_lock)
            {
                return _state;
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Arm(dueTime, period);
            return Inner!.Change(dueTime, period);
        }

        public void Dispose()
        {
            clock.Remove(this);
            Inner?.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            clock.Remove(this);
            return Inner?.DisposeAsync() ?? ValueTask.CompletedTask;
        }
    }
}
