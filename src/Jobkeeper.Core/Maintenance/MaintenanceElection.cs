using Jobkeeper.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Maintenance;

/// <summary>
/// Decides whether this instance leads maintenance. A store of one process (no <see cref="ISharedJobStore"/>) always
/// leads. On a shared store, an instance that does not lead tries the store's <see cref="IMaintenanceLock"/> every
/// <see cref="MaintenanceOptions.ElectionInterval"/>; the one that gets it waits two
/// <see cref="MaintenanceOptions.LeaderCheckInterval"/>s, then leads, checking the lock every check interval and
/// stepping down at the first failed check. So a leader that lost its lock without dying stops its maintenance before
/// a successor starts, and one that died hands over once the database has dropped its session. Leadership is an
/// economy, not the only guard: every maintenance change is compare-and-set, so even a stalled old leader cannot
/// apply one twice.
/// </summary>
internal sealed class MaintenanceElection : BackgroundService, IMaintenanceLeadership
{
    private readonly IMaintenanceLock? _lock;
    private readonly TimeProvider _time;
    private readonly MaintenanceOptions _options;
    private readonly string _location;
    private readonly ILogger<MaintenanceElection> _logger;
    private readonly Lock _gate = new();
    private TaskCompletionSource<CancellationToken> _elected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? _term;

    public MaintenanceElection(IJobStore store, TimeProvider time, IOptions<JobkeeperOptions> options, ILogger<MaintenanceElection> logger)
        : this(store is ISharedJobStore shared ? shared.CreateMaintenanceLock() : null, store.Description.Location, time, options.Value.Maintenance, logger)
    {
    }

    /// <param name="maintenanceLock">The shared store's lock; null for a store of one process (always leads).</param>
    internal MaintenanceElection(IMaintenanceLock? maintenanceLock, string location, TimeProvider time, MaintenanceOptions options, ILogger<MaintenanceElection> logger)
    {
        if (options.ElectionInterval <= TimeSpan.Zero || options.LeaderCheckInterval <= TimeSpan.Zero)
        {
            throw new InvalidOperationException(
                $"Jobkeeper:Maintenance:ElectionInterval and LeaderCheckInterval must be positive (given {options.ElectionInterval} and {options.LeaderCheckInterval}).");
        }

        _lock = maintenanceLock;
        _options = options;
        _time = time;
        _location = location;
        _logger = logger;
    }

    public bool IsLeader { get; private set; }

    public async ValueTask<CancellationToken> WaitForLeadershipAsync(CancellationToken cancellationToken)
    {
        Task<CancellationToken> elected;
        lock (_gate)
        {
            if (_term is { } term)
            {
                return term.Token;
            }

            elected = _elected.Task;
        }

        return await elected.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_lock is null)
        {
            // One process per store (SQLite enforces it with a file lock): nobody to share maintenance with. It leads from
            // the start, not a moment later on the background task, so the sweeps, /health and the gauge agree at once.
            Begin("the store has one process");
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // Also when the background task never ran (a stop right after the start): a stopped host leads nothing.
        End("the host is stopping");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (_lock is null)
            {
                // No timer: nothing to do until the host stops (a test's fake clock sees no extra timer either).
                await Task.Delay(Timeout.InfiniteTimeSpan, stoppingToken).ConfigureAwait(false);
                return;
            }

            while (true)
            {
                if (await TryWinAsync(stoppingToken).ConfigureAwait(false))
                {
                    Begin($"it holds the maintenance lock of {_location}");
                    var reason = await HoldAsync(stoppingToken).ConfigureAwait(false);
                    End(reason);
                    await ReleaseAsync().ConfigureAwait(false);
                }

                await Task.Delay(_options.ElectionInterval, _time, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            End("the host is stopping");
            if (_lock is not null)
            {
                await ReleaseAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Takes the lock, then waits out an old leader's last check before leading.</summary>
    private async Task<bool> TryWinAsync(CancellationToken stoppingToken)
    {
        try
        {
            if (!await _lock!.TryAcquireAsync(stoppingToken).ConfigureAwait(false))
            {
                return false;
            }

            await Task.Delay(_options.LeaderCheckInterval * 2, _time, stoppingToken).ConfigureAwait(false);
            if (await _lock.IsHeldAsync(stoppingToken).ConfigureAwait(false))
            {
                return true;
            }
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            _logger.LogDebug("Trying for the maintenance lock failed: {Error}", ex.Message);
        }

        await ReleaseAsync().ConfigureAwait(false);
        return false;
    }

    /// <summary>Checks the lock every check interval while leading; returns why leadership ended.</summary>
    private async Task<string> HoldAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            await Task.Delay(_options.LeaderCheckInterval, _time, stoppingToken).ConfigureAwait(false);
            try
            {
                if (!await _lock!.IsHeldAsync(stoppingToken).ConfigureAwait(false))
                {
                    return "the maintenance lock is no longer held";
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                return "the maintenance lock could not be checked: " + ex.Message;
            }
        }
    }

    private void Begin(string reason)
    {
        lock (_gate)
        {
            _term = new CancellationTokenSource();
            IsLeader = true;
            _elected.TrySetResult(_term.Token);
        }

        _logger.LogInformation("This instance now leads maintenance (lease reaper, prompt expiry, retention): {Reason}", reason);
    }

    private void End(string reason)
    {
        CancellationTokenSource? term;
        lock (_gate)
        {
            term = _term;
            if (term is null)
            {
                return;
            }

            _term = null;
            IsLeader = false;
            _elected = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        // Cancelled before the lock is let go, so this instance's maintenance stops before anyone else can win.
        term.Cancel();
        term.Dispose();
        _logger.LogInformation("This instance no longer leads maintenance: {Reason}", reason);
    }

    private async Task ReleaseAsync()
    {
        try
        {
            await _lock!.ReleaseAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _logger.LogDebug("Releasing the maintenance lock failed (closing its connection dropped it anyway): {Error}", ex.Message);
        }
    }
}
