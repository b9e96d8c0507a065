using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Jobkeeper.Server;

/// <summary>
/// Once listening, says where everything is: the directory relative paths were resolved against, the settings files
/// read, and the addresses of the dashboard, the API docs and the health check (the store's path is logged as it opens).
/// </summary>
internal static class StartupBanner
{
    public static void Register(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Jobkeeper.Server");
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var settings = app.Configuration is IConfigurationRoot configuration
                ? configuration.Providers.OfType<Microsoft.Extensions.Configuration.Json.JsonConfigurationProvider>()
                    .Select(p => p.Source.FileProvider?.GetFileInfo(p.Source.Path ?? "") is { Exists: true, PhysicalPath: { } path } ? path : null)
                    .OfType<string>().ToList()
                : [];
            logger.LogInformation("Working directory {WorkingDirectory}; settings read from {SettingsFiles}",
                Directory.GetCurrentDirectory(), settings.Count == 0 ? "no appsettings.json" : string.Join(", ", settings));

            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            foreach (var address in addresses)
            {
                var root = address.TrimEnd('/');
                logger.LogInformation("Dashboard {Dashboard}  API docs {Docs}  Health {Health}", root + "/", root + "/docs", root + "/health");
            }
        });
    }
}
