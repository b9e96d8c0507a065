using Jobkeeper.Sqlite;

namespace Jobkeeper.Server;

/// <summary>
/// The settings of <c>jobkeeper serve</c>, from the section "Jobkeeper" of configuration: appsettings.json,
/// then JOBKEEPER__* environment variables, then command-line options (each overriding the one before).
/// </summary>
public sealed class ServerSettings
{
    public const string Section = "Jobkeeper";

    public string Urls { get; set; } = "http://127.0.0.1:8080";

    public string Db { get; set; } = "./data/jobkeeper.db";

    /// <summary>A PostgreSQL connection string; when set, jobs live there (shared by every instance using it) instead of in <see cref="Db"/>.</summary>
    public string? Postgres { get; set; }

    /// <summary>How long a request waits for PostgreSQL before it fails with 503.</summary>
    public TimeSpan PostgresTimeout { get; set; } = TimeSpan.FromSeconds(5);

    public SqliteDurability Durability { get; set; } = SqliteDurability.Normal;

    /// <summary>The longest the SQLite integrity check at start may take (<see cref="SqliteStoreOptions.StartupCheckTimeout"/>); zero skips it.</summary>
    public TimeSpan StartupCheckTimeout { get; set; } = new SqliteStoreOptions().StartupCheckTimeout;

    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Where traces and metrics go over OTLP; <c>/metrics</c> serves the metrics either way.</summary>
    public OtlpSettings Otlp { get; set; } = new();

    /// <summary>
    /// The settings of <paramref name="configuration"/>; throws <see cref="InvalidOperationException"/> saying which
    /// setting is wrong and what it may be (the binder's own message names .NET types), or
    /// <see cref="Microsoft.Extensions.Options.OptionsValidationException"/> with one line per value out of range.
    /// </summary>
    public static ServerSettings Load(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        if (section[nameof(Durability)] is { } durability && DurabilityProblem(durability) is { } problem)
        {
            throw new InvalidOperationException($"{Section}:{nameof(Durability)}: {problem}");
        }

        var settings = section.Get<ServerSettings>() ?? new ServerSettings();
        var result = new ServerSettingsValidator().Validate(Microsoft.Extensions.Options.Options.DefaultName, settings);
        if (result.Failed)
        {
            throw new Microsoft.Extensions.Options.OptionsValidationException(Section, typeof(ServerSettings), result.Failures);
        }

        return settings;
    }

    /// <summary>Null when <paramref name="text"/> names a durability level (normal or full, any case), else what is wrong.</summary>
    public static string? DurabilityProblem(string text) =>
        Enum.GetNames<SqliteDurability>().Contains(text.Trim(), StringComparer.OrdinalIgnoreCase)
            ? null
            : $"'{text}' is not a durability level; use normal (survives a process crash) or full (also survives power loss)";
}
