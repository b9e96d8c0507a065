using System.CommandLine;
using Jobkeeper.Sqlite;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace Jobkeeper.Server.Operations;

/// <summary>
/// <c>jobkeeper restore --from FILE</c>: checks the backup's integrity, takes the target's writer lock (refused while a
/// server has it), refuses when anything else still has the target open, then copies the backup beside the target
/// (mode 0600, like the live file) and renames it over it, removing the old -wal and -shm files.
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
            var temp = target + ".restoring";
            try
            {
                if (SqliteFiles.IntegrityProblem(backup) is { } problem)
                {
                    await Console.Error.WriteLineAsync($"jobkeeper restore: {backup} is not a sound Jobkeeper database: {problem}").ConfigureAwait(false);
                    return 1;
                }

                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                // Held until the new file is in place, so no server can open the old one meanwhile.
                using var writer = SqliteStoreLock.Acquire(target, "jobkeeper restore");
                if (File.Exists(target) && !parse.GetValue(force) && InUse(target) is { } reason)
                {
                    await Console.Error.WriteLineAsync(
                        $"jobkeeper restore: {target} seems to be in use ({reason}); stop what has it open first, or pass --force").ConfigureAwait(false);
                    return StoreTarget.InUseExitCode;
                }

                File.Copy(backup, temp, overwrite: true);
                SqliteOwnerOnlyFile.Restrict(temp);
                SqliteFiles.Sync(temp);
                SqliteFiles.DeleteSidecars(target);
                File.Move(temp, target, overwrite: true);
                AnsiConsole.MarkupLine($"Restored [bold]{Markup.Escape(target)}[/] from [bold]{Markup.Escape(backup)}[/].");
                await Task.CompletedTask.ConfigureAwait(false);
                return 0;
            }
            catch (Exception ex) when (StoreTarget.IsStoreError(ex))
            {
                File.Delete(temp);
                return await StoreTarget.FailAsync("restore", ex, "Stop it first, then restore.").ConfigureAwait(false);
            }
        });
        return command;
    }

    /// <summary>
    /// Leaving WAL mode needs the only connection to the database; while a server has it open this fails at once
    /// (the file is being replaced anyway, so the switch costs nothing when it succeeds).
    /// </summary>
    private static string? InUse(string path)
    {
        try
        {
            using var connection = new SqliteConnection(StoreTarget.SqliteConnectionString(path, SqliteOpenMode.ReadWrite, timeoutSeconds: 1));
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=DELETE";
            var mode = command.ExecuteScalar() as string;
            return string.Equals(mode, "delete", StringComparison.OrdinalIgnoreCase) ? null : $"journal mode stayed {mode}";
        }
        catch (SqliteException ex)
        {
            return ex.Message;
        }
    }
}
