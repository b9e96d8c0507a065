using System.CommandLine;
using System.Text.Json;
using Jobkeeper.Model;
using Jobkeeper.Postgres;
using Jobkeeper.Sqlite;
using Jobkeeper.Storage;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace Jobkeeper.Server.Operations;

/// <summary>The store an operator command works on: a SQLite file, a PostgreSQL database, or a running server.</summary>
internal sealed class StoreTarget
{
    public static readonly Option<string?> Db = new("--db") { Description = "SQLite database file (default ./data/jobkeeper.db)" };
    public static readonly Option<string?> Postgres = new("--postgres") { Description = "PostgreSQL connection string" };
    public static readonly Option<string?> ServerUrl = new("--server") { Description = "Base URL of a running Jobkeeper server (e.g. http://127.0.0.1:8080)" };

    public const string DefaultDb = "./data/jobkeeper.db";

    public static string DbPath(ParseResult parse) => Path.GetFullPath(parse.GetValue(Db) ?? DefaultDb);

    /// <summary>
    /// Opens the store directly with a JobManager over it; no background services run. A SQLite file is opened
    /// read-only for a command that only reads (so it works beside the server that writes to it); for one that
    /// writes, this process must become its only writer (refused while a server has it, naming the server).
    /// </summary>
    public static async Task<ServiceProvider> OpenAsync(ParseResult parse, string command, bool readOnly, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        var postgres = parse.GetValue(Postgres);
        var db = DbPath(parse);
        if (postgres is null && !File.Exists(db))
        {
            throw new FileNotFoundException($"no database at {db}");
        }

        services.AddJobkeeper(o =>
        {
            if (postgres is not null)
            {
                o.UsePostgres(postgres);
            }
            else
            {
                o.UseSqlite(s =>
                {
                    s.Path = db;
                    s.ReadOnly = readOnly;
                    s.Holder = $"jobkeeper {command}";
                });
            }
        });
        var provider = services.BuildServiceProvider();
        try
        {
            await provider.GetRequiredService<IJobStore>().InitializeAsync(cancellationToken).ConfigureAwait(false);
            return provider;
        }
        catch
        {
            await provider.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Plain text (no colours, no escape codes, wide lines) when the output goes to a file or a pipe.</summary>
    public static void PlainWhenRedirected()
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
                Out = new AnsiConsoleOutput(Console.Out),
            });
            AnsiConsole.Profile.Width = 200;
        }
    }

    public static HttpClient Client(string url) => new() { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(10) };

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes / (1024.0 * 1024):0.0} MiB",
    };

    public static Table StatsTable(string provider, string location, int? schemaVersion, long? sizeBytes, IEnumerable<KeyValuePair<string, long>> byStatus, long? total)
    {
        var table = new Table().AddColumn("Field").AddColumn(new TableColumn("Value").RightAligned());
        table.AddRow("provider", Markup.Escape(provider));
        table.AddRow("location", Markup.Escape(location));
        table.AddRow("schema version", schemaVersion?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?");
        table.AddRow("size", sizeBytes is { } s ? Bytes(s) : "?");
        foreach (var (status, count) in byStatus)
        {
            table.AddRow($"jobs {Markup.Escape(status)}", count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        table.AddRow("jobs total", total?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?");
        return table;
    }

    public static Table StatsTable(StoreStats stats) =>
        StatsTable(stats.Provider, stats.Location, stats.SchemaVersion, stats.SizeBytes,
            stats.JobsByStatus.Select(p => new KeyValuePair<string, long>(p.Key.ToName(), p.Value)), stats.JobsCount);

    /// <summary>Exit code of a command refused because another process writes to the database.</summary>
    public const int InUseExitCode = 3;

    /// <summary>One line on stderr; exit 3 when the database is in use by another process, else 1.</summary>
    public static async Task<int> FailAsync(string command, Exception ex, string? whenInUse = null)
    {
        if (ex is SqliteStoreLockedException locked)
        {
            await Console.Error.WriteLineAsync($"jobkeeper {command}: {(whenInUse is null ? locked.Message : locked.InUseMessage + " " + whenInUse)}")
                .ConfigureAwait(false);
            return InUseExitCode;
        }

        await Console.Error.WriteLineAsync($"jobkeeper {command}: {ex.Message}").ConfigureAwait(false);
        return 1;
    }

    public static bool IsStoreError(Exception ex) =>
        ex is IOException or UnauthorizedAccessException or SqliteException or Npgsql.NpgsqlException or HttpRequestException
            or Errors.StoreUnavailableException or Errors.JobkeeperException or JsonException or InvalidOperationException or TaskCanceledException;
}
