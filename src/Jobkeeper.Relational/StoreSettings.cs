using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Relational;

/// <summary>
/// A store's settings as both stores read them: the children of their configuration section (when the host has
/// configuration), then what the app's code sets; and what is wrong with them, one line per key, for the check at start.
/// </summary>
internal static class StoreSettings
{
    public static T Resolve<T>(IServiceProvider services, string section, Action<T>? configure)
        where T : new()
    {
        var settings = new T();
        // A section may also carry a value of its own ("Jobkeeper:Postgres" has long been the connection string); only
        // its children are settings here.
        if (services.GetService<IConfiguration>()?.GetSection(section) is { } config && config.GetChildren().Any())
        {
            config.Bind(settings);
        }

        configure?.Invoke(settings);
        return settings;
    }

    public static IEnumerable<string> Problems<T>(IServiceProvider services, string section, Action<T>? configure, IValidateOptions<T> validator)
        where T : class, new()
    {
        T settings;
        try
        {
            settings = Resolve(services, section, configure);
        }
        catch (InvalidOperationException ex)
        {
            // The binder's own message (a value that is not a number, a time span or a known level); it names the key.
            return [ex.Message];
        }

        var result = validator.Validate(Options.DefaultName, settings);
        return result.Failed ? result.Failures : [];
    }
}
