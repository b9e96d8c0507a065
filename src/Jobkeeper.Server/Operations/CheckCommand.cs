using System.CommandLine;
using Jobkeeper.Sqlite;
using Jobkeeper.Storage;
using Spectre.Console;

namespace Jobkeeper.Server.Operations;

/// <summary><c>jobkeeper check</c>: integrity check, schema version and counts; exits 1 when the check fails.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var command = new Command("check", "Check a store's integrity (SQLite PRAGMA integrity_check), schema version and counts")
        {
            StoreTarget.Db, StoreTarget.Postgres,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            StoreTarget.PlainWhenRedirected();
            try
            {
                if (parse.GetValue(StoreTarget.Postgres) is null)
                {
                    if (await SqliteMaintenance.CheckAsync(StoreTarget.DbPath(parse), cancellationToken).ConfigureAwait(false) is { } problem)
                    {
                        AnsiConsole.MarkupLine($"[red]check failed[/]: {Markup.Escape(problem)}");
                        return 1;
                    }

                    AnsiConsole.MarkupLine("integrity_check: [green]ok[/]");
                }

                await using var provider = await StoreTarget.OpenAsync(parse, "check", readOnly: true, cancellationToken).ConfigureAwait(false);
                var stats = await provider.GetRequiredService<IJobStore>().GetStatsAsync(cancellationToken).ConfigureAwait(false);
                var byStatus = stats.JobsByStatus.Values.Sum();
                AnsiConsole.Write(StoreTarget.StatsTable(stats));
                if (byStatus != stats.JobsCount)
                {
                    AnsiConsole.MarkupLine($"[red]check failed[/]: jobs by status add up to {byStatus}, not {stats.JobsCount}");
                    return 1;
                }

                AnsiConsole.MarkupLine("[green]check passed[/]");
                return 0;
            }
            catch (Exception ex) when (StoreTarget.IsStoreError(ex))
            {
                AnsiConsole.MarkupLine($"[red]check failed[/]: {Markup.Escape(ex.Message)}");
                return 1;
            }
        });
        return command;
    }
}
