using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Jobkeeper.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Schedules;

/// <summary>
/// Recurring schedules at run time: create, change, pause, resume, trigger, delete, and (on the elected maintenance instance)
/// fire the due ones. Each fire time creates at most one job: its unique key names the schedule and the fire time, and the
/// store enforces it, so a fire repeated after a crash, or by two instances while leadership changes hands, finds the job
/// the first one made.
/// </summary>
public sealed class ScheduleManager
{
    /// <summary>How often a change is tried again when another change of the schedule got in first.</summary>
    private const int Attempts = 5;

    /// <summary>The most missed fire times looked at in one pass (an every-second schedule down for 11 days).</summary>
    private const int MaxMissedLooked = 1_000_000;

    private readonly JobKernel _kernel;
    private readonly JobManager _jobs;
    private readonly ScheduleOptions _options;
    private readonly JobkeeperInstruments _instruments;
    private readonly ILogger<ScheduleManager> _logger;

    internal ScheduleManager(JobKernel kernel, JobManager jobs, IOptions<JobkeeperOptions> options, ILogger<ScheduleManager> logger)
    {
        _kernel = kernel;
        _jobs = jobs;
        _options = options.Value.Schedules;
        _instruments = kernel.Instruments;
        _logger = logger;
    }

    private IJobStore Store => _kernel.Store;

    /// <summary>Every schedule, by name, with its next fire times.</summary>
    public async Task<IReadOnlyList<Schedule>> ListAsync(CancellationToken cancellationToken = default)
    {
        var now = _kernel.Now();
        return [.. (await Store.GetSchedulesAsync(ScheduleQuery.All, cancellationToken).ConfigureAwait(false)).Select(s => ScheduleRules.Shown(s, now))];
    }

    /// <summary>One schedule; <see cref="ScheduleNotFoundException"/> when there is none.</summary>
    public async Task<Schedule> GetAsync(string name, CancellationToken cancellationToken = default) =>
        ScheduleRules.Shown(await LoadAsync(name, cancellationToken).ConfigureAwait(false), _kernel.Now());

    /// <summary>Creates a schedule; <see cref="ScheduleExistsException"/> when the name is taken.</summary>
    public async Task<Schedule> CreateAsync(NewSchedule request, CancellationToken cancellationToken = default)
    {
        var now = _kernel.Now();
        var schedule = ScheduleRules.New(request, now);
        if (!await Store.SaveScheduleAsync(null, schedule, cancellationToken).ConfigureAwait(false))
        {
            throw new ScheduleExistsException(request.Name);
        }

        _logger.LogInformation("Schedule {Schedule} created: {Timing}, job type {JobType}", schedule.Name, Describe(schedule), schedule.Job.Type);
        return ScheduleRules.Shown(schedule, now);
    }

    /// <summary>Applies a merge patch; a change of timing (or a resume) counts the next fire from now.</summary>
    public Task<Schedule> UpdateAsync(string name, UpdateScheduleRequest patch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return ChangeAsync(name, (current, now) => ScheduleRules.Apply(current, patch, now), "changed", cancellationToken);
    }

    public Task<Schedule> PauseAsync(string name, CancellationToken cancellationToken = default) =>
        ChangeAsync(name, (current, now) => ScheduleRules.Pause(current, paused: true, now), "paused", cancellationToken);

    /// <summary>Resumes: the next fire is the first fire time from now (fire times during the pause are not caught up).</summary>
    public Task<Schedule> ResumeAsync(string name, CancellationToken cancellationToken = default) =>
        ChangeAsync(name, (current, now) => ScheduleRules.Pause(current, paused: false, now), "resumed", cancellationToken);

    /// <summary>Deletes the schedule; the jobs it created stay.</summary>
    public async Task DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        ScheduleRules.ValidateName(name);
        if (!await Store.DeleteScheduleAsync(name, cancellationToken).ConfigureAwait(false))
        {
            throw new ScheduleNotFoundException(name);
        }

        _logger.LogInformation("Schedule {Schedule} deleted", name);
    }

    /// <summary>An extra run now, outside the timing (paused or not, overlap aside): the job it created, and the schedule.</summary>
    public async Task<(Job Job, Schedule Schedule)> TriggerAsync(string name, JobActor? actor = null, CancellationToken cancellationToken = default)
    {
        var current = await LoadAsync(name, cancellationToken).ConfigureAwait(false);
        var job = await _jobs.CreateAsync(ScheduleRules.JobOf(current, null), actor ?? ActorOf(name), cancellationToken).ConfigureAwait(false);
        _instruments.RecordScheduleFire(name, "triggered");
        var schedule = await ChangeAsync(name, (s, now) => s with { LastJobId = job.Id, UpdatedAt = now, Version = s.Version + 1 }, "triggered",
            cancellationToken).ConfigureAwait(false);
        return (job, schedule);
    }

    /// <summary>
    /// Brings a schedule declared in code into the store: created when missing; its definition updated when it differs (its
    /// paused flag and history kept). Safe on every instance at once.
    /// </summary>
    internal async Task DeclareAsync(NewSchedule declared, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            var now = _kernel.Now();
            var current = await FindAsync(declared.Name, cancellationToken).ConfigureAwait(false);
            var next = current is null ? ScheduleRules.New(declared, now) : ScheduleRules.Declare(current, declared, now);
            if (ReferenceEquals(next, current) || await Store.SaveScheduleAsync(current, next, cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }

        throw new JobStateConflictException($"Schedule '{declared.Name}' kept changing while it was declared; it is declared again at the next start.");
    }

    /// <summary>
    /// Fires every schedule due now (the runner's pass, on the elected instance): for each, the fire
    /// times since its next fire time, as its misfire and overlap policies say; then stores where it got to. Returns how many
    /// jobs it created.
    /// </summary>
    internal async Task<int> FireDueAsync(CancellationToken cancellationToken)
    {
        var now = _kernel.Now();
        var fired = 0;
        foreach (var schedule in await Store.GetSchedulesAsync(new ScheduleQuery(DueBy: now), cancellationToken).ConfigureAwait(false))
        {
            try
            {
                fired += await FireAsync(schedule, now, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // One broken schedule (its job template refused by a newer rule, say) does not hold the others back.
                _logger.LogWarning(ex, "Schedule {Schedule} could not fire; it is tried again at the next pass", schedule.Name);
            }
        }

        return fired;
    }

    private async Task<int> FireAsync(Schedule schedule, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var timing = ScheduleRules.Timing(schedule);
        var due = new List<DateTimeOffset> { schedule.NextFireAt!.Value };
        due.AddRange(timing.Between(due[0], now, MaxMissedLooked));
        var missed = due.Where(f => now - f > _options.MisfireGrace).ToList();
        var onTime = due.Skip(missed.Count).ToList();
        var toFire = schedule.Misfire switch
        {
            ScheduleMisfire.Skip => onTime,
            ScheduleMisfire.CatchUp => [.. missed.TakeLast(schedule.CatchUpLimit ?? ScheduleRules.DefaultCatchUpLimit), .. onTime],
            // One run stands for every missed time, unless one on time runs anyway.
            _ => missed.Count > 0 && onTime.Count == 0 ? [missed[^1]] : onTime,
        };
        if (missed.Count > toFire.Count - onTime.Count)
        {
            _logger.LogWarning("Schedule {Schedule} missed {Missed} fire times from {First:O} to {Last:O}; misfire policy {Policy} fires {Fired} of them",
                schedule.Name, missed.Count, missed[0], missed[^1], schedule.Misfire, toFire.Count - onTime.Count);
        }

        var skippedMisfire = due.Count - toFire.Count;
        var skippedOverlap = 0;

        var lastJobId = schedule.LastJobId;
        DateTimeOffset? lastFire = schedule.LastFireAt;
        var created = 0;
        foreach (var fireTime in toFire)
        {
            if (schedule.Overlap != ScheduleOverlap.Allow && lastJobId is not null
                && await _jobs.GetAsync(lastJobId, cancellationToken).ConfigureAwait(false) is { Status: var status } previous && !status.IsTerminal())
            {
                if (schedule.Overlap == ScheduleOverlap.Skip)
                {
                    skippedOverlap++;
                    _logger.LogInformation("Schedule {Schedule} skipped its fire of {FireTime:O}: job {JobId} is still {Status}",
                        schedule.Name, fireTime, previous.Id, status.ToName());
                    continue;
                }

                await CancelPreviousAsync(schedule.Name, previous.Id, cancellationToken).ConfigureAwait(false);
            }

            var job = await _jobs.CreateAsync(ScheduleRules.JobOf(schedule, fireTime), ActorOf(schedule.Name), cancellationToken).ConfigureAwait(false);
            _instruments.RecordScheduleFire(schedule.Name, job.Existing == true ? "existing" : "fired");
            created += job.Existing == true ? 0 : 1;
            lastJobId = job.Id;
            lastFire = fireTime;
        }

        var next = timing.NextAfter(due[^1]);
        var advanced = schedule with
        {
            NextFireAt = next, LastFireAt = lastFire, LastJobId = lastJobId, SkippedFires = schedule.SkippedFires + skippedMisfire + skippedOverlap,
            UpdatedAt = now, Version = schedule.Version + 1,
        };
        // Compare-and-set: a change made meanwhile (through the API, or by another instance) wins; its fire times are then
        // looked at again, and their jobs found by their keys.
        if (!await Store.SaveScheduleAsync(schedule, advanced, cancellationToken).ConfigureAwait(false))
        {
            _logger.LogInformation("Schedule {Schedule} changed while it fired; the next pass looks at it again", schedule.Name);
            return created;
        }

        // Counted once stored: a pass that lost its save is looked at again, and would count the same skips twice.
        RecordSkipped(schedule.Name, "skipped_misfire", skippedMisfire);
        RecordSkipped(schedule.Name, "skipped_overlap", skippedOverlap);

        return created;
    }

    private void RecordSkipped(string schedule, string outcome, int count)
    {
        for (var i = 0; i < count; i++)
        {
            _instruments.RecordScheduleFire(schedule, outcome);
        }
    }

    private async Task CancelPreviousAsync(string schedule, string jobId, CancellationToken cancellationToken)
    {
        try
        {
            await _jobs.CancelAsync(jobId, ActorOf(schedule) with { Reason = "overlap: cancel_previous" }, cancellationToken).ConfigureAwait(false);
            _instruments.RecordScheduleFire(schedule, "cancelled_previous");
        }
        catch (JobkeeperException ex) when (ex is InvalidTransitionException or JobStateConflictException or JobNotFoundException)
        {
            // It finished (or went) meanwhile: nothing to cancel.
        }
    }

    private async Task<Schedule> ChangeAsync(string name, Func<Schedule, DateTimeOffset, Schedule> change, string what, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var current = await LoadAsync(name, cancellationToken).ConfigureAwait(false);
            var now = _kernel.Now();
            var next = change(current, now);
            if (ReferenceEquals(next, current) || await Store.SaveScheduleAsync(current, next, cancellationToken).ConfigureAwait(false))
            {
                if (!ReferenceEquals(next, current))
                {
                    _logger.LogInformation("Schedule {Schedule} {What}", name, what);
                }

                return ScheduleRules.Shown(next, now);
            }

            if (attempt == Attempts)
            {
                throw new JobStateConflictException($"Schedule '{name}' is changing too fast to {what}; try again.");
            }
        }
    }

    private async Task<Schedule> LoadAsync(string name, CancellationToken cancellationToken)
    {
        ScheduleRules.ValidateName(name);
        return await FindAsync(name, cancellationToken).ConfigureAwait(false) ?? throw new ScheduleNotFoundException(name);
    }

    private async Task<Schedule?> FindAsync(string name, CancellationToken cancellationToken) =>
        await Store.GetSchedulesAsync(new ScheduleQuery(name), cancellationToken).ConfigureAwait(false) is [var found] ? found : null;

    private static JobActor ActorOf(string schedule) => new("schedule:" + schedule);

    private static string Describe(Schedule s) =>
        s.Cron is not null ? $"cron '{s.Cron}' in {s.TimeZone ?? "UTC"}" : $"every {s.IntervalSeconds} s";
}
