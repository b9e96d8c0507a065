using System.CommandLine;
using Jobkeeper.Sqlite;
using Spectre.Console;

namespace Jobkeeper.Server.Operations;

/// <summary>
/// <c>jobkeeper vacuum</c>: rebuilds a SQLite database to give the space of deleted jobs back to the file system
/// (<see cref="SqliteMaintenance.VacuumAsync"/>). Refused while a server has the file: stop it first.
/// </summary>
internal static class VacuumCommand
{
    public static Command Create()
    {
        var command = new Command("vacuum", "Give the space of deleted jobs back (SQLite VACUUM; stop the server first)") { StoreTarget.Db };
        command.SetAction(async (parse, cancellationToken) =>
        {
            StoreTarget.PlainWhenRedirected();
            var path = StoreTarget.DbPath(parse);
            try
            {
                var (before, after) = await SqliteMaintenance.VacuumAsync(path, "jobkeeper vacuum", cancellationToken).ConfigureAwait(false);
                var table = new Table().AddColumn("Database").AddColumn(new TableColumn("Before").RightAligned()).AddColumn(new TableColumn("After").RightAligned());
                table.AddRow(Markup.Escape(path), StoreTarget.Bytes(before), StoreTarget.Bytes(after));
                AnsiConsole.Write(table);
                Console.WriteLine($"size_before_bytes={before} size_after_bytes={after}");
                return 0;
            }
            catch (Exception ex) when (StoreTarget.IsStoreError(ex))
            {
                return await StoreTarget.FailAsync("vacuum", ex, "Stop it first: a vacuum rewrites the whole file.").ConfigureAwait(false);
            }
        });
        return command;
    }
}
