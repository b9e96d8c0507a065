namespace Jobkeeper.Maintenance;

/// <summary>
/// Whether this instance is the one that runs maintenance (the lease reaper, prompt expiry, retention, and later
/// schedules) on its store. On a store of one process (SQLite) it always is; on a shared store (PostgreSQL) the
/// instances elect one, so N instances do not do the same sweep N times. Each term of leadership is a
/// <see cref="CancellationToken"/> that is cancelled the moment the term ends, so work done "while leader" is simply
/// work run under that token.
/// </summary>
public interface IMaintenanceLeadership
{
    /// <summary>True while this instance leads.</summary>
    bool IsLeader { get; }

    /// <summary>
    /// Completes when this instance leads (at once when it already does) with a token that is cancelled when that
    /// term ends: leadership lost, or the host stopping.
    /// </summary>
    ValueTask<CancellationToken> WaitForLeadershipAsync(CancellationToken cancellationToken);
}
