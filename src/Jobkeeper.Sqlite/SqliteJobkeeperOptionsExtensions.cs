using Jobkeeper.Sqlite;
using Jobkeeper.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jobkeeper;

public static class SqliteJobkeeperOptionsExtensions
{
    /// <summary>Stores jobs in an embedded SQLite file (created with its directory when missing).</summary>
    public static JobkeeperOptions UseSqlite(this JobkeeperOptions options, string path, SqliteDurability durability = SqliteDurability.Normal) =>
        options.UseSqlite(o =>
        {
            o.Path = path;
            o.Durability = durability;
        });

    public static JobkeeperOptions UseSqlite(this JobkeeperOptions options, Action<SqliteStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        var storeOptions = new SqliteStoreOptions();
        configure(storeOptions);
        return options.UseStore(sp => new SqliteJobStore(
            storeOptions,
            sp.GetServices<IJobStoreObserver>(),
            sp.GetRequiredService<ILogger<SqliteJobStore>>(),
            sp.GetService<Telemetry.JobkeeperInstruments>()));
    }
}
