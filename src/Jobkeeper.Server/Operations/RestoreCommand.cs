using System.CommandLine;
using Jobkeeper.Sqlite;
using Spectre.Console;

namespace Jobkeeper.Server.Operations;

/// <summary>
/// <c>jobkeeper restore --from FILE</c>: replaces a SQLite database with a checked backup
/// (<see cref="SqliteMaintenance.RestoreAsync"/>); refused while a server or another program has the database open.
/// </summary>
internal static class RestoreCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "Backup file to restore", Required = true };
        var force = new Option<bool>("--force")
        {
            Description = "Replace the database even if a program other than Jobkeeper seems to have it open (a Jobkeeper server always refuses it)",
        };
        var command = new Command("restore", "Replace a SQLite database with a backup (stop the server first)") { from, StoreTarget.Db, force };
        command.SetAction(async (parse, cancellationToken) =>
        {
            StoreTarget.PlainWhenRedirected();
            var backup = Path.GetFullPath(parse.GetValue(from)!);
            var target = StoreTarget.DbPath(parse);
            try
            {
                await SqliteMaintenance.RestoreAsync(backup, target, parse.GetValue(force), "jobkeeper restore", cancellationToken).ConfigureAwait(false);
                AnsiConsole.MarkupLine($"Restored [bold]{Markup.Escape(target)}[/] from [bold]{Markup.Escape(backup)}[/].");
                return 0;
            }
            catch (SqliteDatabaseInUseException ex)
            {
                await Console.Error.WriteLineAsync($"jobkeeper restore: {ex.Message}; stop what has it open first, or pass --force").ConfigureAwait(false);
                return StoreTarget.InUseExitCode;
            }
            catch (Exception ex) when (StoreTarget.IsStoreError(ex))
            {
                return await StoreTarget.FailAsync("restore", ex, "Stop it first, then restore.").ConfigureAwait(false);
            }
        });
        return command;
    }
}
