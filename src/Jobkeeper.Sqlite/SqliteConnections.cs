using Microsoft.Data.Sqlite;

namespace Jobkeeper.Sqlite;

/// <summary>Opens connections with the settings every Jobkeeper connection needs.</summary>
internal static class SqliteConnections
{
    public static SqliteConnection Open(string path, bool readOnly, SqliteDurability durability)
    {
        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
            // Connections live as long as the store; a pool would only keep files open after disposal.
            Pooling = false,
            Cache = SqliteCacheMode.Private,
            DefaultTimeout = 30,
        };
        var connection = new SqliteConnection(builder.ToString());
        connection.Open();
        var pragmas = readOnly
            ? "PRAGMA busy_timeout = 5000; PRAGMA cache_size = -16384; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY;"
            : $"PRAGMA journal_mode = WAL; PRAGMA synchronous = {(durability == SqliteDurability.Full ? "FULL" : "NORMAL")}; " +
              "PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = OFF; " +
              // Checkpoints run in the background (SqliteCheckpointer); this is only the backstop.
              "PRAGMA wal_autocheckpoint = 8192;";
        using var command = connection.CreateCommand();
        command.CommandText = pragmas;
        command.ExecuteNonQuery();
        return connection;
    }

    public static SqliteCommand Prepare(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }
}
