using Jobkeeper.Postgres;
using Jobkeeper.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Jobkeeper;

public static class PostgresJobkeeperOptionsExtensions
{
    /// <summary>Stores jobs in PostgreSQL, shared by every instance that uses the same database (the schema is created at start-up).</summary>
    public static JobkeeperOptions UsePostgres(this JobkeeperOptions options, string connectionString) =>
        options.UsePostgres(o => o.ConnectionString = connectionString);

    public static JobkeeperOptions UsePostgres(this JobkeeperOptions options, Action<PostgresStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(configure);
        var storeOptions = new PostgresStoreOptions();
        configure(storeOptions);
        return options.UseStore(sp => new PostgresJobStore(
            storeOptions,
            sp.GetServices<IJobStoreObserver>(),
            sp.GetRequiredService<ILogger<PostgresJobStore>>(),
            sp.GetService<Telemetry.JobkeeperInstruments>()));
    }
}
