using System.CommandLine;
using System.Text.Json;
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
                    using var response = await http.DeleteAsync($"api/v1/jobs/cleanup?days={n}", cancellationToken).ConfigureAwait(false);
                    var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                    if (!response.IsSuccessStatusCode)
                    {
                        await Console.Error.WriteLineAsync($"jobkeeper cleanup: server answered {(int)response.StatusCode}: {body}").ConfigureAwait(false);
                        return 1;
                    }

                    using var json = JsonDocument.Parse(body);
                    deleted = json.RootElement.GetProperty("deleted_count").GetInt32();
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
