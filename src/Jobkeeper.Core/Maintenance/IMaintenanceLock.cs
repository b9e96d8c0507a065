namespace Jobkeeper.Maintenance;

/// <summary>
/// The lock a shared store offers for electing the maintenance leader: held by at most one instance of the database
/// at a time, and released by the database itself when its holder dies (a PostgreSQL session advisory lock on a
/// connection of its own). Used by one election loop at a time, never concurrently. Disposing releases it.
/// </summary>
public interface IMaintenanceLock : IAsyncDisposable
{
    /// <summary>Tries to take the lock without waiting; true when this instance now holds it.</summary>
    Task<bool> TryAcquireAsync(CancellationToken cancellationToken);

    /// <summary>Whether this instance still holds the lock; false (or an exception) means it is lost.</summary>
    Task<bool> IsHeldAsync(CancellationToken cancellationToken);

    /// <summary>Lets the lock go (closing what held it, so it is gone even when the database cannot be told).</summary>
    Task ReleaseAsync(CancellationToken cancellationToken);
}
