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
}
