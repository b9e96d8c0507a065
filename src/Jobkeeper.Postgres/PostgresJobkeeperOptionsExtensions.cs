using Jobkeeper.Postgres;
using Jobkeeper.Storage;
using Microsoft.Extensions.Configuration;
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
                Resolve(sp, configure),
                sp.GetServices<IJobStoreObserver>(),
                sp.GetRequiredService<ILogger<PostgresJobStore>>(),
                sp.GetService<Telemetry.JobkeeperInstruments>()),
            sp => Problems(sp, configure));
    }

    private static PostgresStoreOptions Resolve(IServiceProvider services, Action<PostgresStoreOptions>? configure)
    {
        var storeOptions = new PostgresStoreOptions();
        // The section may also carry a value of its own (the connection string, as "Jobkeeper:Postgres" always has);
        // only its children are settings here.
        if (services.GetService<IConfiguration>()?.GetSection(PostgresStoreOptionsValidator.Section) is { } section && section.GetChildren().Any())
        {
            section.Bind(storeOptions);
        }

        configure?.Invoke(storeOptions);
        return storeOptions;
    }

    private static IEnumerable<string> Problems(IServiceProvider services, Action<PostgresStoreOptions>? configure)
    {
        PostgresStoreOptions storeOptions;
        try
        {
            storeOptions = Resolve(services, configure);
        }
        catch (InvalidOperationException ex)
        {
            // The binder's own message (a value that is not a number or a time span); it names the key.
            return [ex.Message];
        }

        var result = new PostgresStoreOptionsValidator().Validate(Microsoft.Extensions.Options.Options.DefaultName, storeOptions);
        return result.Failed ? result.Failures : [];
    }
}
