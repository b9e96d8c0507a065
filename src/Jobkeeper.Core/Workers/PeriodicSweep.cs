using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Workers;

/// <summary>
/// A background pass run at start and then every <c>Workers.ReapInterval</c> (on the app's
/// <see cref="TimeProvider"/>); a failed pass is logged and the next one tries again.
/// </summary>
internal abstract class PeriodicSweep(TimeSpan interval, TimeProvider time, ILogger logger) : BackgroundService
{
    /// <summary>What the pass looks for, for the log ("expired leases").</summary>
    protected abstract string What { get; }

    protected abstract Task SweepAsync(CancellationToken cancellationToken);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                try
                {
                    await SweepAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Looking for {What} failed; trying again in {IntervalMs} ms", What, interval.TotalMilliseconds);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }
}
