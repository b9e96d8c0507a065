using Jobkeeper.Errors;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Sqlite;

/// <summary>
/// Operator work on a SQLite database file, as the <c>jobkeeper backup|restore|check|vacuum</c> commands do it: an
/// online backup, a restore, a full integrity check and a vacuum. Every file they make is readable by its owner only.
/// </summary>
public static class SqliteMaintenance
{
    /// <summary>
    /// SQLite's online backup of a database a store may be writing to. The copy is one consistent snapshot (one read
    /// transaction, which in WAL mode does not block the writer), checkpointed into a single self-contained file,
    /// integrity-checked, then renamed over <paramref name="backupPath"/>. Returns the backup's size in bytes.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no database at <paramref name="databasePath"/>.</exception>
    /// <exception cref="StoreCorruptException">The copy failed its integrity check; nothing was written at <paramref name="backupPath"/>.</exception>
    public static Task<long> BackupAsync(string databasePath, string backupPath, IProgress<SqliteBackupStage>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var source = Path.GetFullPath(databasePath);
        var target = Path.GetFullPath(backupPath);
        var temp = target + ".partial";
        return Task.Run(() =>
        {
            try
            {
                if (!File.Exists(source))
                {
                    throw new FileNotFoundException($"no database at {source}", source);
                }

                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Delete(temp);
                SqliteFiles.DeleteSidecars(temp);
                // Owner-only like the live file (SQLite would create it with the umask's mode); the rename keeps the mode.
                SqliteOwnerOnlyFile.Create(temp);
                progress?.Report(SqliteBackupStage.Copying);
                using (var from = new SqliteConnection(SqliteFiles.ConnectionString(source, SqliteOpenMode.ReadOnly)))
                using (var into = new SqliteConnection(SqliteFiles.ConnectionString(temp, SqliteOpenMode.ReadWriteCreate)))
                {
                    from.Open();
                    into.Open();
                    from.BackupDatabase(into);
                    progress?.Report(SqliteBackupStage.Checkpointing);
                    SqliteFiles.MakeSelfContained(into);
                }

                progress?.Report(SqliteBackupStage.Verifying);
                if (SqliteFiles.IntegrityProblem(temp) is { } problem)
                {
                    throw new StoreCorruptException(temp, $"the copy failed its integrity check: {problem}");
                }

                SqliteFiles.Sync(temp);
                File.Move(temp, target, overwrite: true);
                SqliteFiles.DeleteSidecars(target);
                return new FileInfo(target).Length;
            }
            catch
            {
                File.Delete(temp);
                throw;
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Replaces a database with a backup: checks the backup's integrity, takes the database's writer lock (refused with
    /// <see cref="SqliteStoreLockedException"/> while a store has it, and held until the new file is in place, so no
    /// store opens the old one meanwhile), refuses when anything else still has the file open unless
    /// <paramref name="force"/>, then copies the backup beside it (owner-only) and renames it over it, removing the
    /// old -wal and -shm files.
    /// </summary>
    /// <param name="holder">What this process is, recorded in the lock file for a store refused meanwhile.</param>
    /// <exception cref="StoreCorruptException">The backup is not a sound Jobkeeper database.</exception>
    /// <exception cref="SqliteDatabaseInUseException">Something other than a Jobkeeper store has the database open.</exception>
    public static Task RestoreAsync(string backupPath, string databasePath, bool force = false, string? holder = null,
        CancellationToken cancellationToken = default)
    {
        var backup = Path.GetFullPath(backupPath);
        var target = Path.GetFullPath(databasePath);
        var temp = target + ".restoring";
        return Task.Run(() =>
        {
            if (SqliteFiles.IntegrityProblem(backup) is { } problem)
            {
                throw new StoreCorruptException(backup, $"{backup} is not a sound Jobkeeper database: {problem}");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            using var writer = SqliteStoreLock.Acquire(target, holder);
            if (File.Exists(target) && !force && InUse(target) is { } reason)
            {
                throw new SqliteDatabaseInUseException(target, reason);
            }

            try
            {
                File.Copy(backup, temp, overwrite: true);
                SqliteOwnerOnlyFile.Restrict(temp);
                SqliteFiles.Sync(temp);
                SqliteFiles.DeleteSidecars(target);
                File.Move(temp, target, overwrite: true);
            }
            catch
            {
                File.Delete(temp);
                throw;
            }
        }, cancellationToken);
    }

    /// <summary>
    /// SQLite's full <c>PRAGMA integrity_check</c> (every page, and every index against its table) of a database opened
    /// read-only, so beside a store that writes to it. Returns null when it is sound and a Jobkeeper database, else what
    /// is wrong.
    /// </summary>
    public static Task<string?> CheckAsync(string databasePath, CancellationToken cancellationToken = default)
    {
        var path = Path.GetFullPath(databasePath);
        return Task.Run(() => SqliteFiles.IntegrityProblem(path), cancellationToken);
    }

    /// <summary>
    /// Rebuilds a database to give the space of deleted jobs back to the file system. It rewrites the whole file, so it
    /// takes the database's writer lock: refused with <see cref="SqliteStoreLockedException"/> while a store has the
    /// file; a reader at the same time makes it fail, not wait. Returns the sizes (file and WAL) before and after.
    /// </summary>
    /// <param name="holder">What this process is, recorded in the lock file for a store refused meanwhile.</param>
    /// <exception cref="FileNotFoundException">There is no database at <paramref name="databasePath"/>.</exception>
    public static Task<SqliteVacuumResult> VacuumAsync(string databasePath, string? holder = null, CancellationToken cancellationToken = default)
    {
        var path = Path.GetFullPath(databasePath);
        return Task.Run(() =>
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"no database at {path}", path);
            }

            using var writer = SqliteStoreLock.Acquire(path, holder);
            var before = SqliteFiles.Size(path);
            using (var connection = new SqliteConnection(SqliteFiles.ConnectionString(path)))
            {
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);";
                command.ExecuteNonQuery();
                // VACUUM may renumber the jobs' rowids, which the search index is keyed by: empty it and mark every job, so the
                // search indexer builds it again once the store opens.
                command.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'jobs_search'";
                if (Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0)
                {
                    command.CommandText = "BEGIN; INSERT INTO jobs_search (jobs_search) VALUES ('delete-all'); " +
                        "INSERT OR IGNORE INTO jobs_search_pending (job_rowid) SELECT rowid FROM jobs; COMMIT; PRAGMA wal_checkpoint(TRUNCATE);";
                    command.ExecuteNonQuery();
                }
            }

            return new SqliteVacuumResult(before, SqliteFiles.Size(path));
        }, cancellationToken);
    }

    /// <summary>
    /// Leaving WAL mode needs the only connection to the database; while something has it open this fails at once
    /// (the file is being replaced anyway, so the switch costs nothing when it succeeds).
    /// </summary>
    private static string? InUse(string path)
    {
        try
        {
            using var connection = new SqliteConnection(SqliteFiles.ConnectionString(path, SqliteOpenMode.ReadWrite, timeoutSeconds: 1));
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=DELETE";
            var mode = command.ExecuteScalar() as string;
            return string.Equals(mode, "delete", StringComparison.OrdinalIgnoreCase) ? null : $"journal mode stayed {mode}";
        }
        catch (SqliteException ex)
        {
            return ex.Message;
        }
    }
}

/// <summary>What a backup is doing, as <see cref="SqliteMaintenance.BackupAsync"/> reports it.</summary>
public enum SqliteBackupStage
{
    Copying,
    Checkpointing,
    Verifying,
}

/// <summary>The size of a database (file and WAL, in bytes) before and after a vacuum.</summary>
public sealed record SqliteVacuumResult(long SizeBefore, long SizeAfter);

/// <summary>Something other than a Jobkeeper store has the database open, so a restore would pull the file from under it.</summary>
public sealed class SqliteDatabaseInUseException(string databasePath, string reason)
    : IOException($"{databasePath} seems to be in use ({reason})")
{
    public string DatabasePath { get; } = databasePath;

    /// <summary>What showed it (SQLite's error, or the journal mode that could not be left).</summary>
    public string Reason { get; } = reason;
}
