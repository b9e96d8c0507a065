using Jobkeeper.Maintenance;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Workers;

/// <summary>
/// A background pass run at start and then every interval (on the app's <see cref="TimeProvider"/>); a failed pass is
/// logged and the next one tries again. Given a <see cref="IMaintenanceLeadership"/>, it runs only while this instance
/// leads: the first pass at once on winning, and a pass under way is cancelled when the term ends.
/// </summary>
internal abstract class PeriodicSweep(TimeSpan interval, TimeProvider time, ILogger logger, IMaintenanceLeadership? leadership = null) : BackgroundService
{
    /// <summary>What the pass looks for, for the log ("expired leases").</summary>
    protected abstract string What { get; }

    protected abstract Task SweepAsync(CancellationToken cancellationToken);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (leadership is null)
            {
                await RunAsync(stoppingToken).ConfigureAwait(false);
                return;
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                var term = await leadership.WaitForLeadershipAsync(stoppingToken).ConfigureAwait(false);
                using var leading = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, term);
                await RunAsync(leading.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>Passes until <paramref name="cancellationToken"/> is cancelled (then returns quietly).</summary>
    private async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                try
                {
                    await SweepAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "Looking for {What} failed; trying again in {IntervalMs} ms", What, interval.TotalMilliseconds);
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // The term or the host ended, mid-pass or between passes.
        }
    }
}
