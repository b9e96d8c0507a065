using Jobkeeper.AspNetCore;

namespace Jobkeeper.Server;

/// <summary>Builds the server's web application from configuration (also used by tests that host it in-process).</summary>
public static class ServerApp
{
    private const string DocsPath = "/docs";

    public static WebApplication Build(IReadOnlyDictionary<string, string?> overrides, string[]? args = null)
    {
        // Relative paths and appsettings.json are the user's: those of the directory the command runs in (also under
        // dotnet run, see RunWorkingDirectory in the project). The shipped appsettings.json beside the executable gives
        // the defaults underneath, wherever the server is started.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args ?? [],
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        AddDefaultLogLevels(builder.Configuration);
        AddShippedSettings(builder.Configuration);
        builder.Configuration.AddInMemoryCollection(overrides);
        var settings = ServerSettings.Load(builder.Configuration);

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });

        var urls = ServerUrls.Parse(settings.Urls);
        builder.WebHost.UseUrls(urls);
        ServerSecurity.Add(builder, urls);
        builder.WebHost.ConfigureKestrel(k => KestrelLimits.Configure(k, settings));

        builder.Services.AddJobkeeper(o =>
        {
            builder.Configuration.GetSection($"{ServerSettings.Section}:Cache").Bind(o.Cache);
            builder.Configuration.GetSection($"{ServerSettings.Section}:Workers").Bind(o.Workers);
            builder.Configuration.GetSection($"{ServerSettings.Section}:Retention").Bind(o.Retention);
            builder.Configuration.GetSection($"{ServerSettings.Section}:Maintenance").Bind(o.Maintenance);
            builder.Configuration.GetSection($"{ServerSettings.Section}:Queues").Bind(o.Queues);
            builder.Configuration.GetSection($"{ServerSettings.Section}:Schedules").Bind(o.Schedules);
            // The store's own sections (Jobkeeper:Sqlite, Jobkeeper:Postgres) bind in UseSqlite/UsePostgres; the older
            // top-level keys (Db, Durability, StartupCheckTimeout, Postgres, PostgresTimeout) still work and win when given.
            var section = builder.Configuration.GetSection(ServerSettings.Section);
            var postgres = !string.IsNullOrWhiteSpace(settings.Postgres)
                ? settings.Postgres
                : builder.Configuration[$"{Jobkeeper.Postgres.PostgresStoreOptionsValidator.Section}:{nameof(Jobkeeper.Postgres.PostgresStoreOptions.ConnectionString)}"];
            if (!string.IsNullOrWhiteSpace(postgres))
            {
                o.UsePostgres(p =>
                {
                    p.ConnectionString = postgres;
                    if (section[nameof(ServerSettings.PostgresTimeout)] is not null)
                    {
                        p.Timeout = settings.PostgresTimeout;
                    }
                });
            }
            else
            {
                o.UseSqlite(s =>
                {
                    if (section[nameof(ServerSettings.Db)] is not null)
                    {
                        s.Path = settings.Db;
                    }

                    if (section[nameof(ServerSettings.Durability)] is not null)
                    {
                        s.Durability = settings.Durability;
                    }

                    if (section[nameof(ServerSettings.StartupCheckTimeout)] is not null)
                    {
                        s.StartupCheckTimeout = settings.StartupCheckTimeout;
                    }

                    s.Holder = $"jobkeeper serve on {string.Join(", ", urls)}";
                });
            }
        });
        builder.Services.AddJobkeeperApi(o =>
        {
            o.MaxRequestBodyBytes = settings.MaxRequestBodyBytes;
            o.IdempotencyKeyWindow = builder.Configuration.GetValue(
                $"{ServerSettings.Section}:{nameof(JobkeeperApiOptions.IdempotencyKeyWindow)}", o.IdempotencyKeyWindow);
        });
        ServerTelemetry.Add(builder, settings);
        // Problem details are written with the app's JSON options: snake_case like the rest, quotes kept readable.
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        });
        var app = builder.Build();
        KestrelLimits.UseConnectionCloseForOversizedBodies(app);
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        ServerSecurity.Use(app);
        // The document itself is MapJobkeeper()'s (AddJobkeeperApi registers it); the executable only adds the UI. Only requests
        // under /docs pass through it: the UI middleware builds strings and runs a regex on every request it sees (~2 % of the
        // hot GET's allocation samples in a gc-verbose trace, for a page no API call asks for).
        app.UseWhen(http => http.Request.Path.StartsWithSegments(DocsPath), docs => docs.UseSwaggerUI(o =>
        {
            o.RoutePrefix = DocsPath[1..];
            o.SwaggerEndpoint("/openapi/v1.json", "Jobkeeper API v1");
            o.DocumentTitle = "Jobkeeper API";
        }));
        app.MapJobkeeperDashboard();
        app.MapJobkeeper();
        ServerTelemetry.Map(app);
        StartupBanner.Register(app);
        return app;
    }

    /// <summary>
    /// The log levels of the shipped appsettings.json, underneath every other source: a single-file build has no
    /// appsettings.json beside it, and at Information ASP.NET Core would log full URLs, access_token included.
    /// </summary>
    private static void AddDefaultLogLevels(ConfigurationManager configuration) =>
        configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
                ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
            },
        });

    /// <summary>
    /// The appsettings.json shipped beside the executable, read before the working directory's (which overrides it,
    /// as environment variables and command-line options override both).
    /// </summary>
    private static void AddShippedSettings(ConfigurationManager configuration)
    {
        var shipped = Path.Combine(AppContext.BaseDirectory, "appsettings.json");
        if (string.Equals(Path.GetFullPath(shipped), Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), StringComparison.Ordinal))
        {
            return;
        }

        var source = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
        {
            Path = shipped,
            Optional = true,
            ReloadOnChange = false,
        };
        source.ResolveFileProvider();
        var sources = configuration.Sources;
        var firstJson = 0;
        while (firstJson < sources.Count && sources[firstJson] is not Microsoft.Extensions.Configuration.Json.JsonConfigurationSource)
        {
            firstJson++;
        }

        sources.Insert(Math.Min(firstJson, sources.Count), source);
    }
}
