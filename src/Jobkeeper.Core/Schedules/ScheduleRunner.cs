using Jobkeeper.Maintenance;
using Jobkeeper.Workers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Schedules;

/// <summary>Fires the due schedules every <see cref="ScheduleOptions.PollInterval"/>, on the elected maintenance instance only.</summary>
internal sealed class ScheduleRunner(ScheduleManager schedules, TimeProvider time, IOptions<JobkeeperOptions> options, ILogger<ScheduleRunner> logger,
    IMaintenanceLeadership leadership)
    : PeriodicSweep(options.Value.Schedules.PollInterval, time, logger, leadership)
{
    protected override string What => "due schedules";

    protected override Task SweepAsync(CancellationToken cancellationToken) => schedules.FireDueAsync(cancellationToken);
}

/// <summary>Brings the schedules declared in code into the store at start, on every instance (idempotent).</summary>
internal sealed class DeclaredSchedules(ScheduleManager schedules, IOptions<JobkeeperOptions> options) : Microsoft.Extensions.Hosting.IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var declared in options.Value.Schedules.Declared)
        {
            await schedules.DeclareAsync(declared, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
