namespace Jobkeeper.Maintenance;

/// <summary>
/// How the instances on a shared store elect the one that runs maintenance (configuration section
/// <c>Jobkeeper:Maintenance</c>). Unused on a store of one process, which always leads.
/// </summary>
public sealed class MaintenanceOptions
{
    /// <summary>How often an instance that does not lead tries to take the lock.</summary>
    public TimeSpan ElectionInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often the leader checks it still holds the lock. A new leader waits twice this long after winning before it
    /// starts, so an old leader that lost its lock (without dying) has seen it and stopped first.
    /// </summary>
    public TimeSpan LeaderCheckInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}
