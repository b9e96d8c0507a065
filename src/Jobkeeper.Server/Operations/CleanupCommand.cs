using System.CommandLine;
using Jobkeeper.Client;
using Spectre.Console;

namespace Jobkeeper.Server.Operations;

/// <summary><c>jobkeeper cleanup --days N</c>: deletes finished jobs completed more than N days ago, on a store or a running server.</summary>
internal static class CleanupCommand
{
    public static Command Create()
    {
        var days = new Option<int>("--days") { Description = "Delete finished jobs completed more than this many days ago", Required = true };
        var command = new Command("cleanup", "Delete finished (completed, failed, cancelled) jobs older than --days")
        {
            days, StoreTarget.Db, StoreTarget.Postgres, StoreTarget.ServerUrl,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            StoreTarget.PlainWhenRedirected();
            var n = parse.GetValue(days);
            try
            {
                int deleted;
                if (parse.GetValue(StoreTarget.ServerUrl) is { } url)
                {
                    using var http = StoreTarget.Client(url);
                    try
                    {
                        deleted = (await new JobkeeperClient(http).CleanupAsync(n, cancellationToken).ConfigureAwait(false)).DeletedCount;
                    }
                    catch (JobkeeperApiException ex)
                    {
                        await Console.Error.WriteLineAsync($"jobkeeper cleanup: server answered {(int)ex.Status}: {ex.Detail ?? ex.Message}").ConfigureAwait(false);
                        return 1;
                    }
                }
                else
                {
                    await using var provider = await StoreTarget.OpenAsync(parse, "cleanup", readOnly: false, cancellationToken).ConfigureAwait(false);
                    deleted = (await provider.GetRequiredService<JobManager>().CleanupAsync(n, cancellationToken).ConfigureAwait(false)).DeletedCount;
                }

                AnsiConsole.MarkupLine($"Deleted [bold]{deleted}[/] finished jobs completed more than {n} days ago.");
                return 0;
            }
            catch (Exception ex) when (StoreTarget.IsStoreError(ex))
            {
                return await StoreTarget.FailAsync("cleanup", ex, "Clean up through that server: jobkeeper cleanup --days N --server URL.").ConfigureAwait(false);
            }
        });
        return command;
    }
}
