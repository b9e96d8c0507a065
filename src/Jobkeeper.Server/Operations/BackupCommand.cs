using System.CommandLine;
using Jobkeeper.Sqlite;
using Spectre.Console;

namespace Jobkeeper.Server.Operations;

/// <summary>
/// <c>jobkeeper backup --to FILE</c>: a consistent copy of a SQLite database a server may be writing to
/// (<see cref="SqliteMaintenance.BackupAsync"/>), with its progress.
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
            try
            {
                long size = 0;
                await AnsiConsole.Progress().AutoClear(false).Columns(
                    new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn()).StartAsync(async progress =>
                {
                    var copy = progress.AddTask("copying", maxValue: 3);
                    try
                    {
                        size = await SqliteMaintenance.BackupAsync(source, target, new Stages(copy), cancellationToken).ConfigureAwait(false);
                        copy.Description = "done";
                    }
                    catch
                    {
                        copy.Description = "failed";
                        throw;
                    }
                    finally
                    {
                        copy.Value = copy.MaxValue;
                    }
                }).ConfigureAwait(false);

                AnsiConsole.MarkupLine($"Backed up [bold]{Markup.Escape(source)}[/] to [bold]{Markup.Escape(target)}[/] ({StoreTarget.Bytes(size)}).");
                return 0;
            }
            catch (Exception ex) when (StoreTarget.IsStoreError(ex))
            {
                return await StoreTarget.FailAsync("backup", ex).ConfigureAwait(false);
            }
        });
        return command;
    }

    /// <summary>Shows the stage a backup is in on its progress bar.</summary>
    private sealed class Stages(ProgressTask task) : IProgress<SqliteBackupStage>
    {
        public void Report(SqliteBackupStage value)
        {
            task.Value = (int)value;
            task.Description = value.ToString().ToLowerInvariant();
        }
    }
}
