namespace Jobkeeper.Sqlite;

/// <summary>How durable a committed write is.</summary>
public enum SqliteDurability
{
    /// <summary>Survives a process crash (WAL, synchronous=NORMAL). The default.</summary>
    Normal,

    /// <summary>Also survives power loss: the WAL is fsynced on every commit group (synchronous=FULL).</summary>
    Full,
}

public sealed class SqliteStoreOptions
{
    /// <summary>The database file; its directory is created, and a new file is made readable by its owner only.</summary>
    public string Path { get; set; } = "data/jobkeeper.db";

    public SqliteDurability Durability { get; set; } = SqliteDurability.Normal;

    /// <summary>Read connections kept open (each with its own prepared statements).</summary>
    public int ReadConnections { get; set; } = Math.Max(4, Environment.ProcessorCount * 2);

    /// <summary>The most write operations committed in one transaction.</summary>
    public int MaxBatchSize { get; set; } = 1024;

    /// <summary>
    /// What this process is, recorded in the database's lock file so that a second writer is told who holds the
    /// file (e.g. "jobkeeper serve on http://127.0.0.1:8080"); the process name when not set.
    /// </summary>
    public string? Holder { get; set; }

    /// <summary>
    /// Opens an existing database for reading only: no lock, no migrations, no writer; writes are refused. Any number
    /// of read-only stores may open a file beside the one process that writes to it.
    /// </summary>
    public bool ReadOnly { get; set; }

    /// <summary>
    /// The longest the integrity check at start (SQLite <c>PRAGMA quick_check</c>) may take; a damaged database is
    /// refused. A file too large to check in this time is checked as far as it gets (the log says so), and damage
    /// found later while serving is still reported. Zero skips the check.
    /// </summary>
    public TimeSpan StartupCheckTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
