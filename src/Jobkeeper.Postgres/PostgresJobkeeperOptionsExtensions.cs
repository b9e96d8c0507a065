using Jobkeeper.Postgres;
using Jobkeeper.Relational;
using Jobkeeper.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jobkeeper;

public static class PostgresJobkeeperOptionsExtensions
{
    /// <summary>Stores jobs in PostgreSQL, shared by every instance that uses the same database (the schema is created at start-up).</summary>
    public static JobkeeperOptions UsePostgres(this JobkeeperOptions options, string connectionString) =>
        options.UsePostgres(o => o.ConnectionString = connectionString);

    /// <summary>
    /// Stores jobs in PostgreSQL. The settings are those of the configuration section <c>Jobkeeper:Postgres</c>
    /// (when the host has configuration), then whatever <paramref name="configure"/> sets; they are validated when
    /// the host starts.
    /// </summary>
    public static JobkeeperOptions UsePostgres(this JobkeeperOptions options, Action<PostgresStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.UseStore(
            sp => new PostgresJobStore(
                StoreSettings.Resolve(sp, PostgresStoreOptionsValidator.Section, configure),
                sp.GetServices<IJobStoreObserver>(),
                sp.GetRequiredService<ILogger<PostgresJobStore>>(),
                sp.GetService<Telemetry.JobkeeperInstruments>()),
            sp => StoreSettings.Problems(sp, PostgresStoreOptionsValidator.Section, configure, new PostgresStoreOptionsValidator()));
    }
}
