using Jobkeeper.AspNetCore;

namespace Jobkeeper.Server;

/// <summary>Builds the server's web application from configuration (also used by tests that host it in-process).</summary>
public static class ServerApp
{
    public static WebApplication Build(IReadOnlyDictionary<string, string?> overrides, string[]? args = null)
    {
        // The shipped appsettings.json (beside the executable) gives the defaults wherever the server is started.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args ?? [],
            ContentRootPath = AppContext.BaseDirectory,
        });
        AddWorkingDirectorySettings(builder.Configuration);
        builder.Configuration.AddInMemoryCollection(overrides);
        var settings = builder.Configuration.GetSection(ServerSettings.Section).Get<ServerSettings>() ?? new ServerSettings();

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });

        var urls = settings.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        builder.WebHost.UseUrls(urls);
        ServerSecurity.Add(builder, urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = settings.MaxRequestBodyBytes);

        builder.Services.AddJobkeeper(o =>
        {
            builder.Configuration.GetSection($"{ServerSettings.Section}:Cache").Bind(o.Cache);
            builder.Configuration.GetSection($"{ServerSettings.Section}:Workers").Bind(o.Workers);
            builder.Configuration.GetSection($"{ServerSettings.Section}:Retention").Bind(o.Retention);
            if (!string.IsNullOrWhiteSpace(settings.Postgres))
            {
                o.UsePostgres(p =>
                {
                    p.ConnectionString = settings.Postgres;
                    p.Timeout = settings.PostgresTimeout;
                });
            }
            else
            {
                o.UseSqlite(settings.Db, settings.Durability);
            }
        });
        builder.Services.AddJobkeeperApi(o => o.MaxRequestBodyBytes = settings.MaxRequestBodyBytes);
        // Problem details are written with the app's JSON options: snake_case like the rest, quotes kept readable.
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        });
        builder.Services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "Jobkeeper API";
                document.Info.Description = "Durable jobs over HTTP: create, track, update and clean up long-running work.";
                return Task.CompletedTask;
            });
            o.AddOperationTransformer<OpenApiRequestBodies>();
            o.AddOperationTransformer<OpenApiActorHeaders>();
        });

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        ServerSecurity.Use(app);
        app.MapOpenApi("/openapi/{documentName}.json");
        app.UseSwaggerUI(o =>
        {
            o.RoutePrefix = "docs";
            o.SwaggerEndpoint("/openapi/v1.json", "Jobkeeper API v1");
            o.DocumentTitle = "Jobkeeper API";
        });
        app.MapJobkeeperDashboard();
        app.MapJobkeeper();
        return app;
    }

    /// <summary>
    /// An appsettings.json in the working directory overrides the shipped one; environment variables
    /// and command-line options still override both (its source goes just after the last JSON file).
    /// </summary>
    private static void AddWorkingDirectorySettings(ConfigurationManager configuration)
    {
        var path = Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json");
        if (string.Equals(Path.GetFullPath(path), Path.Combine(AppContext.BaseDirectory, "appsettings.json"), StringComparison.Ordinal))
        {
            return;
        }

        var source = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
        {
            Path = path,
            Optional = true,
            ReloadOnChange = false,
        };
        source.ResolveFileProvider();
        var sources = configuration.Sources;
        var lastJson = -1;
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i] is Microsoft.Extensions.Configuration.Json.JsonConfigurationSource)
            {
                lastJson = i;
            }
        }

        sources.Insert(lastJson + 1, source);
    }
}
