using System.Diagnostics;
using Jobkeeper.Maintenance;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Jobkeeper.Core.Tests;

/// <summary>
/// The election's decisions on a driven clock, over a lock that does what the test says (the real PostgreSQL lock is
/// tested in Jobkeeper.Postgres.Tests): a winner waits out an old leader's last check before it leads, a failed check
/// ends the term before the lock is let go, and the instance tries again an election interval later.
/// </summary>
public sealed class MaintenanceElectionTests
{
    private static readonly MaintenanceOptions Options = new()
    {
        ElectionInterval = TimeSpan.FromSeconds(1),
        LeaderCheckInterval = TimeSpan.FromMilliseconds(500),
    };

    private readonly ArmedClock _time = new(TestJobs.T0);

    [Fact]
    public async Task A_store_of_one_process_always_leads()
    {
        using var election = new MaintenanceElection(null, "one.db", _time, Options, NullLogger<MaintenanceElection>.Instance);
        await election.StartAsync(CancellationToken.None);

        // At once, with no clock moving (the host runs ExecuteAsync on its own task, so "at once" is right after).
        await UntilAsync(() => election.IsLeader, "leading");
        var term = await election.WaitForLeadershipAsync(CancellationToken.None);
        Assert.False(term.IsCancellationRequested);

        await election.StopAsync(CancellationToken.None);
        Assert.False(election.IsLeader);
        Assert.True(term.IsCancellationRequested);
    }

    [Fact]
    public async Task A_winner_leads_after_two_checks_steps_down_at_the_first_failed_check_before_letting_go_and_tries_again()
    {
        var gate = new ScriptedLock();
        using var election = new MaintenanceElection(gate, "db", _time, Options, NullLogger<MaintenanceElection>.Instance);
        gate.Election = election;
        await election.StartAsync(CancellationToken.None);
        var waiting = election.WaitForLeadershipAsync(CancellationToken.None).AsTask();

        // The lock is taken at once, but the new leader waits two check intervals for an old one to stop.
        await UntilAsync(() => gate.Held, "the lock taken");
        await ArmedAsync(Options.LeaderCheckInterval * 2, "the wait for an old leader");
        _time.Advance(Options.LeaderCheckInterval * 2 - TimeSpan.FromMilliseconds(1));
        Assert.False(election.IsLeader);
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        var term = await waiting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(election.IsLeader);
        Assert.False(term.IsCancellationRequested);

        // Checks pass while the lock is held; the first failed one ends the term, then the lock is let go.
        await ArmedAsync(Options.LeaderCheckInterval, "the first check");
        _time.Advance(Options.LeaderCheckInterval);
        await UntilAsync(() => gate.Checks >= 2, "a check while leading");
        Assert.True(election.IsLeader);
        gate.CheckFails = true;
        await ArmedAsync(Options.LeaderCheckInterval, "the second check");
        _time.Advance(Options.LeaderCheckInterval);
        await UntilAsync(() => !election.IsLeader, "stepping down");
        Assert.True(term.IsCancellationRequested);
        await UntilAsync(() => gate.Releases == 1, "the lock let go");
        Assert.False(gate.LeadingAtRelease, "the lock was let go while the term was still on");

        // An election interval later it tries again and, the lock being free, leads again after the wait.
        gate.CheckFails = false;
        var again = election.WaitForLeadershipAsync(CancellationToken.None).AsTask();
        Assert.False(again.IsCompleted);
        await ArmedAsync(Options.ElectionInterval, "the wait before the next election");
        _time.Advance(Options.ElectionInterval);
        await UntilAsync(() => gate.Held, "the lock taken again");
        await ArmedAsync(Options.LeaderCheckInterval * 2, "the wait for an old leader");
        _time.Advance(Options.LeaderCheckInterval * 2);
        var second = await again.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(second.IsCancellationRequested);

        await election.StopAsync(CancellationToken.None);
        Assert.True(second.IsCancellationRequested);
        Assert.Equal(2, gate.Releases);
    }

    [Fact]
    public async Task An_instance_that_does_not_get_the_lock_tries_every_election_interval_and_never_leads()
    {
        var gate = new ScriptedLock { Free = false };
        using var election = new MaintenanceElection(gate, "db", _time, Options, NullLogger<MaintenanceElection>.Instance);
        gate.Election = election;
        await election.StartAsync(CancellationToken.None);
        await UntilAsync(() => gate.Tries == 1, "the first try");

        for (var i = 2; i <= 5; i++)
        {
            await ArmedAsync(Options.ElectionInterval, $"the wait before try {i}");
            _time.Advance(Options.ElectionInterval);
            await UntilAsync(() => gate.Tries == i, $"try {i}");
            Assert.False(election.IsLeader);
        }

        await election.StopAsync(CancellationToken.None);
    }

    /// <summary>
    /// Waits until the election has armed its wait of <paramref name="wait"/> from now: a test advances the clock only then,
    /// since advanced before, the wait would start after it and run a whole interval more.
    /// </summary>
    private Task ArmedAsync(TimeSpan wait, string what)
    {
        var due = _time.GetUtcNow() + wait;
        return UntilAsync(() => _time.HasTimerDueAt(due), what);
    }

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var started = Stopwatch.GetTimestamp();
        while (!condition())
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(10), $"gave up waiting for {what}");
            await Task.Delay(5);
        }
    }

    /// <summary>A fake clock that remembers when each timer made on it is due.</summary>
    private sealed class ArmedClock(DateTimeOffset start) : FakeTimeProvider(start)
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<DateTimeOffset> _dueAt = new();

        public bool HasTimerDueAt(DateTimeOffset at) => _dueAt.Contains(at);

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                _dueAt.Enqueue(GetUtcNow() + dueTime);
            }

            return base.CreateTimer(callback, state, dueTime, period);
        }
    }

    /// <summary>A lock that is free or taken, and whose checks pass or fail, as the test says.</summary>
    private sealed class ScriptedLock : IMaintenanceLock
    {
        public MaintenanceElection? Election { get; set; }

        public bool Free { get; set; } = true;

        public bool CheckFails { get; set; }

        public bool Held { get; private set; }

        public int Tries { get; private set; }

        public int Checks { get; private set; }

        public int Releases { get; private set; }

        public bool LeadingAtRelease { get; private set; }

        public Task<bool> TryAcquireAsync(CancellationToken cancellationToken)
        {
            Tries++;
            Held = Free;
            return Task.FromResult(Held);
        }

        public Task<bool> IsHeldAsync(CancellationToken cancellationToken)
        {
            Checks++;
            return CheckFails ? Task.FromException<bool>(new IOException("the connection broke")) : Task.FromResult(Held);
        }

        public Task ReleaseAsync(CancellationToken cancellationToken)
        {
            Releases++;
            LeadingAtRelease |= Election!.IsLeader;
            Held = false;
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
