using System.CommandLine;
using Jobkeeper.Storage;

namespace Jobkeeper.Server;

/// <summary><c>jobkeeper serve</c>: the REST API on the embedded SQLite store, or on PostgreSQL shared with other instances.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string?>("--urls") { Description = "Addresses to listen on (default http://127.0.0.1:8080)" };
        var db = new Option<string?>("--db") { Description = "SQLite database file (default ./data/jobkeeper.db; created with its directory, mode 0600)" };
        var durability = new Option<string?>("--durability")
        {
            Description = "normal: survives a process crash (default); full: fsync per commit group, survives power loss",
            HelpName = "normal|full",
        };
        durability.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } given && ServerSettings.DurabilityProblem(given) is { } problem)
            {
                result.AddError($"--durability: {problem}");
            }
        });
        var postgres = new Option<string?>("--postgres")
        {
            Description = "PostgreSQL connection string (\"Host=...;Database=...;Username=...\"); instances on the same database share their jobs. Default: SQLite",
        };
        var command = new Command("serve", "Run the Jobkeeper server") { urls, db, durability, postgres };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(urls) is { } u)
            {
                overrides[$"{ServerSettings.Section}:Urls"] = u;
            }

            if (parse.GetValue(db) is { } d)
            {
                overrides[$"{ServerSettings.Section}:Db"] = d;
            }

            if (parse.GetValue(postgres) is { } pg)
            {
                overrides[$"{ServerSettings.Section}:Postgres"] = pg;
            }

            if (parse.GetValue(durability) is { } level)
            {
                overrides[$"{ServerSettings.Section}:Durability"] = level;
            }

            WebApplication app;
            try
            {
                app = ServerApp.Build(overrides);
                // What ValidateOnStart would refuse at host start, refused now: before the ports are taken or the store opened.
                app.Services.GetService<Microsoft.Extensions.Options.IStartupValidator>()?.Validate();
            }
            catch (Exception ex) when (ex is InvalidOperationException or Microsoft.Extensions.Options.OptionsValidationException or AggregateException)
            {
                foreach (var problem in ConfigurationProblems(ex))
                {
                    await Console.Error.WriteLineAsync($"jobkeeper: invalid configuration: {problem}").ConfigureAwait(false);
                }

                return 2;
            }

            await using (app.ConfigureAwait(false))
            {
                try
                {
                    // In this order, each before anything is created: the ports, then the store (its lock, its integrity,
                    // its migrations), so a refusal is one line here rather than a failed host start with a stack trace.
                    ServerUrls.EnsurePortsFree(ServerUrls.Parse(app.Configuration[WebHostDefaults.ServerUrlsKey] ?? ""));
                    await app.Services.GetRequiredService<IJobStore>().InitializeAsync(cancellationToken).ConfigureAwait(false);
                    await app.StartAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException or Microsoft.Data.Sqlite.SqliteException
                    or Npgsql.NpgsqlException or Jobkeeper.Errors.StoreUnavailableException)
                {
                    await Console.Error.WriteLineAsync($"jobkeeper: cannot start: {ex.Message}").ConfigureAwait(false);
                    return 1;
                }

                await app.WaitForShutdownAsync(CancellationToken.None).ConfigureAwait(false);
                return 0;
            }
        });
        return command;
    }

    /// <summary>One line per refused setting; an exception that is not about settings is rethrown.</summary>
    private static IEnumerable<string> ConfigurationProblems(Exception ex) => ex switch
    {
        Microsoft.Extensions.Options.OptionsValidationException validation => validation.Failures,
        AggregateException aggregate => aggregate.InnerExceptions.SelectMany(ConfigurationProblems),
        InvalidOperationException => [ex.Message],
        _ => throw ex,
    };
}
