using Microsoft.Data.Sqlite;

namespace Jobkeeper.Sqlite;

/// <summary>Whole-file work on SQLite databases for backup, restore, check, vacuum and the store's size.</summary>
internal static class SqliteFiles
{
    /// <summary>A connection string that opens the file without pooling, so closing really closes it.</summary>
    public static string ConnectionString(string path, SqliteOpenMode mode = SqliteOpenMode.ReadWrite, int timeoutSeconds = 30) =>
        new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false, DefaultTimeout = timeoutSeconds }.ToString();

    /// <summary>The database file with its WAL, in bytes.</summary>
    public static long Size(string path) => new[] { path, path + "-wal" }.Where(File.Exists).Sum(p => new FileInfo(p).Length);

    /// <summary>PRAGMA integrity_check of a file opened read-only: null when it is sound, else what is wrong.</summary>
    public static string? IntegrityProblem(string path)
    {
        if (!File.Exists(path))
        {
            return $"no database at {path}";
        }

        try
        {
            using var connection = new SqliteConnection(ConnectionString(path, SqliteOpenMode.ReadOnly));
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA integrity_check";
            var lines = new List<string>();
            using (var reader = command.ExecuteReader())
            {
                while (reader.Read())
                {
                    lines.Add(reader.GetString(0));
                }
            }

            if (lines is not ["ok"])
            {
                return string.Join("; ", lines.Take(10));
            }

            command.CommandText = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'jobs'";
            return (long)command.ExecuteScalar()! == 1 ? null : "not a Jobkeeper database (no jobs table)";
        }
        catch (SqliteException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>Makes a database a single self-contained file: WAL checkpointed into it and rollback journal mode.</summary>
    public static void MakeSelfContained(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;";
        command.ExecuteNonQuery();
    }

    /// <summary>Writes the file's data to disk before it is renamed into place.</summary>
    public static void Sync(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        stream.Flush(flushToDisk: true);
    }

    public static void DeleteSidecars(string path)
    {
        foreach (var suffix in new[] { "-wal", "-shm", "-journal" })
        {
            File.Delete(path + suffix);
        }
    }
}
