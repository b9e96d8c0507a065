using Jobkeeper.Sqlite;
using Jobkeeper.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

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
                Resolve(sp, configure),
                sp.GetServices<IJobStoreObserver>(),
                sp.GetRequiredService<ILogger<SqliteJobStore>>(),
                sp.GetService<Telemetry.JobkeeperInstruments>()),
            sp => Problems(sp, configure));
    }

    private static SqliteStoreOptions Resolve(IServiceProvider services, Action<SqliteStoreOptions>? configure)
    {
        var storeOptions = new SqliteStoreOptions();
        services.GetService<IConfiguration>()?.GetSection(SqliteStoreOptionsValidator.Section).Bind(storeOptions);
        configure?.Invoke(storeOptions);
        return storeOptions;
    }

    private static IEnumerable<string> Problems(IServiceProvider services, Action<SqliteStoreOptions>? configure)
    {
        SqliteStoreOptions storeOptions;
        try
        {
            storeOptions = Resolve(services, configure);
        }
        catch (InvalidOperationException ex)
        {
            // The binder's own message (a value that is not a number, an unknown durability level); it names the key.
            return [ex.Message];
        }

        var result = new SqliteStoreOptionsValidator().Validate(Microsoft.Extensions.Options.Options.DefaultName, storeOptions);
        return result.Failed ? result.Failures : [];
    }
}
