namespace Jobkeeper.Postgres;

public sealed class PostgresStoreOptions
{
    /// <summary>An Npgsql connection string, e.g. <c>Host=db;Database=jobkeeper;Username=jobkeeper;Password=...</c>.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// How long a request waits for PostgreSQL (to connect, and for each command) before it fails with
    /// 503. Short, so that an outage is reported at once instead of piling requests up.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The most write operations committed in one transaction.</summary>
    public int MaxBatchSize { get; set; } = 1024;

    /// <summary>
    /// Transactions this instance writes at once. Each group-commits whatever is queued; more than one lets a
    /// transaction's round trips and fsync overlap the next.
    /// </summary>
    public int Writers { get; set; } = 2;

    /// <summary>Connections in the pool (readers, the writer and the listener share it).</summary>
    public int MaxPoolSize { get; set; } = 50;

    /// <summary>The LISTEN/NOTIFY channel the instances announce their commits on.</summary>
    public string Channel { get; set; } = "jobkeeper_changes";
}
