using System.CommandLine;
using Jobkeeper.Sqlite;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace Jobkeeper.Server.Operations;

/// <summary>
/// <c>jobkeeper vacuum</c>: rebuilds a SQLite database to give the space of deleted jobs back to the file system.
/// It rewrites the whole file, so it takes the database's writer lock: refused while a server has the file (stop it
/// first); a read-only command reading at the same time makes it fail, not wait.
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
                if (!File.Exists(path))
                {
                    throw new FileNotFoundException($"no database at {path}");
                }

                using var writer = SqliteStoreLock.Acquire(path, "jobkeeper vacuum");
                var before = StoreTarget.SqliteSize(path);
                await Task.Run(() =>
                {
                    using var connection = new SqliteConnection(StoreTarget.SqliteConnectionString(path));
                    connection.Open();
                    using var command = connection.CreateCommand();
                    command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);";
                    command.ExecuteNonQuery();
                }, cancellationToken).ConfigureAwait(false);
                var after = StoreTarget.SqliteSize(path);
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
