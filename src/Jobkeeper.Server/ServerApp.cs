using Jobkeeper.AspNetCore;

namespace Jobkeeper.Server;

/// <summary>Builds the server's web application from configuration (also used by tests that host it in-process).</summary>
public static class ServerApp
{
    public static WebApplication Build(IReadOnlyDictionary<string, string?> overrides, string[]? args = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args ?? [],
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        builder.Configuration.AddInMemoryCollection(overrides);
        var settings = builder.Configuration.GetSection(ServerSettings.Section).Get<ServerSettings>() ?? new ServerSettings();

        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });

        builder.WebHost.UseUrls(settings.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = settings.MaxRequestBodyBytes);

        builder.Services.AddJobkeeper(o =>
        {
            builder.Configuration.GetSection($"{ServerSettings.Section}:Cache").Bind(o.Cache);
            o.UseSqlite(settings.Db, settings.Durability);
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
        });

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.UseSwaggerUI(o =>
        {
            o.RoutePrefix = "docs";
            o.SwaggerEndpoint("/openapi/v1.json", "Jobkeeper API v1");
            o.DocumentTitle = "Jobkeeper API";
        });
        app.MapGet("/", () => Results.Redirect("/docs")).ExcludeFromDescription();
        app.MapJobkeeper();
        return app;
    }
}
