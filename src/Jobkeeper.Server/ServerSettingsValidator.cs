using Jobkeeper.Validation;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Server;

/// <summary>Refuses server settings that cannot work, naming the key under <c>Jobkeeper</c> and the allowed range.</summary>
public sealed class ServerSettingsValidator : IValidateOptions<ServerSettings>
{
    public ValidateOptionsResult Validate(string? name, ServerSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string section = ServerSettings.Section;
        var problems = new OptionProblems();
        problems.NotEmpty($"{section}:{nameof(options.Urls)}", options.Urls);
        problems.NotEmpty($"{section}:{nameof(options.Db)}", options.Db);
        problems.Range($"{section}:{nameof(options.PostgresTimeout)}", options.PostgresTimeout, TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10));
        problems.Range($"{section}:{nameof(options.StartupCheckTimeout)}", options.StartupCheckTimeout, TimeSpan.Zero, TimeSpan.FromHours(1));
        problems.Range($"{section}:{nameof(options.MaxRequestBodyBytes)}", options.MaxRequestBodyBytes, 1024, 1024L * 1024 * 1024);
        if (options.Otlp.Problem() is { } otlp)
        {
            problems.Add($"{section}:{nameof(options.Otlp)}:{otlp}");
        }

        return problems.Result();
    }
}
