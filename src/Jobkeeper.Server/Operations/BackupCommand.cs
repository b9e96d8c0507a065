using System.CommandLine;
using Jobkeeper.Sqlite;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace Jobkeeper.Server.Operations;

/// <summary>
/// <c>jobkeeper backup --to FILE</c>: SQLite's online backup of a database a server may be writing to. The copy is
/// one consistent snapshot (one read transaction, which in WAL mode does not block the server's writes), checkpointed
/// into a single self-contained file, integrity-checked, then renamed into place.
/// </summary>
internal static class BackupCommand
{
    public static Command Create()
    {
        var to = new Option<string>("--to") { Description = "Backup file to write (replaced if it exists)", Required = true };
        var command = new Command("backup", "Copy a SQLite database consistently, even while a server writes to it") { to, StoreTarget.Db };
        command.SetAction(async (parse, cancellationToken) =>
        {
            StoreTarget.PlainWhenRedirected();
            var source = StoreTarget.DbPath(parse);
            var target = Path.GetFullPath(parse.GetValue(to)!);
            var temp = target + ".partial";
            try
            {
                if (!File.Exists(source))
                {
                    throw new FileNotFoundException($"no database at {source}");
                }

                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Delete(temp);
                SqliteFiles.DeleteSidecars(temp);
                // Owner-only like the live file (SQLite would create it with the umask's mode); the rename keeps the mode.
                SqliteOwnerOnlyFile.Create(temp);
                string? problem = null;
                await AnsiConsole.Progress().AutoClear(false).Columns(
                    new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn()).StartAsync(async progress =>
                {
                    var copy = progress.AddTask("copying", maxValue: 3);
                    await Task.Run(() =>
                    {
                        using (var from = new SqliteConnection(StoreTarget.SqliteConnectionString(source, SqliteOpenMode.ReadOnly)))
                        using (var into = new SqliteConnection(StoreTarget.SqliteConnectionString(temp, SqliteOpenMode.ReadWriteCreate)))
                        {
                            from.Open();
                            into.Open();
                            from.BackupDatabase(into);
                            copy.Increment(1);
                            copy.Description = "checkpointing";
                            SqliteFiles.MakeSelfContained(into);
                        }

                        copy.Increment(1);
                        copy.Description = "verifying";
                        problem = SqliteFiles.IntegrityProblem(temp);
                        copy.Increment(1);
                        copy.Description = problem is null ? "done" : "failed";
                    }, cancellationToken).ConfigureAwait(false);
                }).ConfigureAwait(false);

                if (problem is not null)
                {
                    File.Delete(temp);
                    await Console.Error.WriteLineAsync($"jobkeeper backup: the copy failed its integrity check: {problem}").ConfigureAwait(false);
                    return 1;
                }

                SqliteFiles.Sync(temp);
                File.Move(temp, target, overwrite: true);
                SqliteFiles.DeleteSidecars(target);
                AnsiConsole.MarkupLine($"Backed up [bold]{Markup.Escape(source)}[/] to [bold]{Markup.Escape(target)}[/] ({StoreTarget.Bytes(new FileInfo(target).Length)}).");
                return 0;
            }
            catch (Exception ex) when (StoreTarget.IsStoreError(ex))
            {
                File.Delete(temp);
                return await StoreTarget.FailAsync("backup", ex).ConfigureAwait(false);
            }
        });
        return command;
    }
}
