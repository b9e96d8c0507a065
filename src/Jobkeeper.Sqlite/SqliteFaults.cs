using Jobkeeper.Errors;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Sqlite;

/// <summary>
/// What a SQLite error means for the store, in one place for the writer, the readers and the checkpointer. Every
/// error names the database file. Damage (SQLITE_CORRUPT, SQLITE_NOTADB) is remembered: from then on the store
/// refuses writes (writing on a broken b-tree can spread the damage) and reports itself corrupt to health checks,
/// since waiting does not repair a file.
/// </summary>
internal sealed class SqliteFaults(string path, ILogger logger)
{
    private const int SqliteCorrupt = 11;
    private const int SqliteNotADatabase = 26;

    private string? _damage;

    /// <summary>The first damage seen while serving, or null while none was.</summary>
    public string? Damage => Volatile.Read(ref _damage);

    public static bool IsDamage(SqliteException ex) => (ex.SqliteErrorCode & 0xFF) is SqliteCorrupt or SqliteNotADatabase;

    /// <summary>
    /// The store's exception for a SQLite error met while <paramref name="doing"/> ("reading", "writing"):
    /// <see cref="StoreCorruptException"/> for damage (remembered), else <see cref="StoreUnavailableException"/>.
    /// </summary>
    public StoreUnavailableException Translate(SqliteException ex, string doing)
    {
        if (!IsDamage(ex))
        {
            return new StoreUnavailableException($"SQLite failed {doing} {path}: {ex.Message}", ex);
        }

        if (Interlocked.CompareExchange(ref _damage, ex.Message, null) is null)
        {
            logger.LogCritical(ex, "The SQLite database {Path} is damaged ({Error}): writes are refused from now on", path, ex.Message);
        }

        return Corrupt(ex);
    }

    /// <summary>
    /// A row SQLite gave back that is no job Jobkeeper wrote (a status it never writes, JSON it cannot read): damage that
    /// SQLite's own checks let through (garbage over a page's cells reads as values). Remembered as damage.
    /// </summary>
    public StoreCorruptException Unreadable(Exception ex, string doing)
    {
        var what = $"a row met while {doing} is unreadable: {ex.Message}";
        if (Interlocked.CompareExchange(ref _damage, what, null) is null)
        {
            logger.LogCritical(ex, "The SQLite database {Path} is damaged ({Error}): writes are refused from now on", path, what);
        }

        return Corrupt(ex);
    }

    /// <summary>Throws <see cref="StoreCorruptException"/> once damage has been seen.</summary>
    public void ThrowIfDamaged()
    {
        if (Damaged() is { } error)
        {
            throw error;
        }
    }

    /// <summary>The error to give once damage has been seen; null while none was.</summary>
    public StoreCorruptException? Damaged() => Damage is null ? null : Corrupt(null);

    private StoreCorruptException Corrupt(Exception? inner) => new(path, DamagedMessage(path, Damage ?? "damaged"), inner);

    /// <summary>The message of a damaged database: what is wrong, and the way out.</summary>
    public static string DamagedMessage(string path, string what) =>
        $"The SQLite database {path} is damaged ({what}). Retrying will not help: check it with 'jobkeeper check --db {path}' " +
        "and restore the last good backup ('jobkeeper restore --from BACKUP --db …' with the server stopped).";
}
