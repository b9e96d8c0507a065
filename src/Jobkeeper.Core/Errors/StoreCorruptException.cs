namespace Jobkeeper.Errors;

/// <summary>
/// The store's data is damaged (a SQLite file with a broken page, or no database at all). Unlike a plain
/// <see cref="StoreUnavailableException"/> this does not heal with time: retrying is useless until the
/// operator checks the store and restores a backup, so it is reported as such (health <c>corrupt</c>,
/// problem type <c>store-corrupt</c>).
/// </summary>
public sealed class StoreCorruptException(string location, string message, Exception? inner = null)
    : StoreUnavailableException(message, inner)
{
    /// <summary>Where the damaged data lives (the database file).</summary>
    public string Location { get; } = location;
}
