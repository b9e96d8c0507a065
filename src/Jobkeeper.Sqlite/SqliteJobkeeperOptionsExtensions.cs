using Jobkeeper.Sqlite;
using Jobkeeper.Relational;
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

    /// <summary>
    /// Stores jobs in an embedded SQLite file. The settings are those of the configuration section
    /// <c>Jobkeeper:Sqlite</c> (when the host has configuration), then whatever <paramref name="configure"/> sets;
    /// they are validated when the host starts.
    /// </summary>
    public static JobkeeperOptions UseSqlite(this JobkeeperOptions options, Action<SqliteStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.UseStore(
            sp => new SqliteJobStore(
                StoreSettings.Resolve(sp, SqliteStoreOptionsValidator.Section, configure),
                sp.GetServices<IJobStoreObserver>(),
                sp.GetRequiredService<ILogger<SqliteJobStore>>(),
                sp.GetService<Telemetry.JobkeeperInstruments>()),
            sp => StoreSettings.Problems(sp, SqliteStoreOptionsValidator.Section, configure, new SqliteStoreOptionsValidator()));
    }
}
