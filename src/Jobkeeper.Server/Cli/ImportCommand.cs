using System.CommandLine;
using System.Text.Json;
using Jobkeeper.Model;
using Jobkeeper.Postgres;
using Jobkeeper.Server.Import;
using Jobkeeper.Sqlite;
using Jobkeeper.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Jobkeeper.Server.Cli;

/// <summary><c>jobkeeper import FILE</c>: the legacy job dictionaries of the original apps, into a store or a running server.</summary>
internal static class ImportCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "A legacy JSON file: {\"<job id>\": {...}, ...} or [{...}, ...]" };
        var db = new Option<string?>("--db") { Description = "SQLite database file to import into (default ./data/jobkeeper.db); stop the server first or use --server" };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL connection string to import into" };
        var server = CliServer.ServerOption();
        server.Description = "Import through a running server's API (legacy timestamps kept as legacy_* labels)";
        var apiKey = CliServer.ApiKeyOption();
        var type = new Option<string>("--type")
        {
            Description = $"Job type for records without a type/kind/job_type field (default {LegacyJobMapper.DefaultType})",
            DefaultValueFactory = _ => LegacyJobMapper.DefaultType,
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Map and check, write nothing" };
        var command = new Command("import", "Import legacy jobs (safe to run twice: existing ids are skipped)") { file, db, postgres, server, apiKey, type, dryRun };
        command.SetAction((parse, cancellationToken) =>
        {
            var url = parse.GetValue(server);
            return CliServer.RunAsync(url, async () =>
            {
                var path = parse.GetValue(file)!;
                if ((parse.GetValue(db) is not null ? 1 : 0) + (parse.GetValue(postgres) is not null ? 1 : 0) + (url is not null ? 1 : 0) > 1)
                {
                    throw new CliException("give one of --db, --postgres, --server");
                }

                IReadOnlyList<LegacyRecord> records;
                try
                {
                    await using var stream = path.OpenRead();
                    using var doc = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
                    records = LegacyJobMapper.MapDocument(doc.RootElement, parse.GetValue(type)!, DateTimeOffset.UtcNow);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or FormatException)
                {
                    throw new CliException($"cannot read {path.FullName}: {ex.Message}");
                }

                await using var target = await OpenAsync(parse.GetValue(db), parse.GetValue(postgres), url, parse.GetValue(apiKey), cancellationToken).ConfigureAwait(false);
                var dry = parse.GetValue(dryRun);
                var outcomes = await ImportWithProgressAsync(records, target, dry, cancellationToken).ConfigureAwait(false);
                Report(path.Name, target.Description, dry, outcomes);
                return outcomes.Any(o => o.Kind == ImportOutcomeKind.Failed) ? 1 : 0;
            });
        });
        return command;
    }

    /// <summary>On a terminal, a progress bar while the records are written; plain output when redirected.</summary>
    private static async Task<IReadOnlyList<ImportOutcome>> ImportWithProgressAsync(IReadOnlyList<LegacyRecord> records, IImportTarget target, bool dryRun,
        CancellationToken cancellationToken)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive || records.Count < 100)
        {
            return await LegacyImporter.ImportAsync(records, target, dryRun, cancellationToken).ConfigureAwait(false);
        }

        IReadOnlyList<ImportOutcome> outcomes = [];
        await AnsiConsole.Progress().StartAsync(async context =>
        {
            var task = context.AddTask("importing", maxValue: records.Count);
            outcomes = await LegacyImporter.ImportAsync(records, target, dryRun, cancellationToken, () => task.Increment(1)).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return outcomes;
    }

    private static async Task<IImportTarget> OpenAsync(string? db, string? postgres, string? server, string? apiKey, CancellationToken cancellationToken)
    {
        if (server is not null)
        {
            return new ServerImportTarget(CliServer.CreateHttp(server, apiKey));
        }

        IJobStore store = postgres is not null
            ? new PostgresJobStore(new PostgresStoreOptions { ConnectionString = postgres }, [], NullLogger<PostgresJobStore>.Instance)
            : new SqliteJobStore(new SqliteStoreOptions { Path = db ?? new ServerSettings().Db, Holder = "jobkeeper import" }, [], NullLogger<SqliteJobStore>.Instance);
        try
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw new CliException(ex is SqliteStoreLockedException locked
                ? $"{locked.InUseMessage} Import through that server: jobkeeper import FILE --server URL."
                : $"cannot open the store: {ex.Message}");
        }

        return new StoreImportTarget(store);
    }

    private static void Report(string file, string target, bool dryRun, IReadOnlyList<ImportOutcome> outcomes)
    {
        var console = JobsCommand.Output();
        var done = outcomes.Where(o => o.Kind is ImportOutcomeKind.Imported or ImportOutcomeKind.WouldImport).ToList();
        var table = new Table().AddColumns("outcome", "jobs");
        table.AddRow(dryRun ? "would import" : "imported", done.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var status in JobStatusNames.All)
        {
            var n = done.Count(o => o.Job!.Status == status);
            if (n > 0)
            {
                table.AddRow($"  as {status.ToName()}", n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        table.AddRow("skipped: exists already", Count(outcomes, ImportOutcomeKind.Exists));
        table.AddRow("skipped: invalid", Count(outcomes, ImportOutcomeKind.Invalid));
        table.AddRow("failed", Count(outcomes, ImportOutcomeKind.Failed));
        Console.Out.WriteLine($"import {file} → {target}{(dryRun ? " (dry run: nothing written)" : "")}");
        console.Write(table);

        var skipped = outcomes.Where(o => o.Kind is ImportOutcomeKind.Exists or ImportOutcomeKind.Invalid or ImportOutcomeKind.Failed).ToList();
        if (skipped.Count > 0)
        {
            Console.Out.WriteLine("Skipped:");
            foreach (var o in skipped)
            {
                Console.Out.WriteLine($"  {o.Id ?? "(no id)"}: {(o.Kind == ImportOutcomeKind.Failed ? "failed: " : "")}{o.Reason}");
            }
        }

        var notes = outcomes.Where(o => o.Kind is ImportOutcomeKind.Imported or ImportOutcomeKind.WouldImport && o.Notes.Count > 0).ToList();
        if (notes.Count > 0)
        {
            Console.Out.WriteLine("Notes:");
            foreach (var o in notes)
            {
                Console.Out.WriteLine($"  {o.Id}: {string.Join("; ", o.Notes)}");
            }
        }

        Console.Out.WriteLine(
            $"{(dryRun ? "would import" : "imported")} {done.Count}, skipped {skipped.Count(o => o.Kind != ImportOutcomeKind.Failed)}, failed {Count(outcomes, ImportOutcomeKind.Failed)}");
    }

    private static string Count(IReadOnlyList<ImportOutcome> outcomes, ImportOutcomeKind kind) =>
        outcomes.Count(o => o.Kind == kind).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
