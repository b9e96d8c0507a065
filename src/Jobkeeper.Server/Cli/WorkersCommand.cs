using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Jobkeeper.Model;
using Spectre.Console;

namespace Jobkeeper.Server.Cli;

/// <summary><c>jobkeeper workers</c>: the workers a running server heard from, what they hold and what they did.</summary>
internal static class WorkersCommand
{
    public static Command Create()
    {
        var within = new Option<int>("--within") { Description = "Workers heard from in this many seconds (1–3600; default 300)", DefaultValueFactory = _ => 300 };
        var json = new Option<bool>("--json") { Description = "Print the workers as JSON, as the API returns them" };
        var command = new Command("workers", "List the workers (in-process handlers and HTTP workers) a running server heard from") { within, json };
        CliServer.OnClient(command, async (parse, client, cancellationToken) =>
        {
            var workers = await client.GetWorkersAsync(parse.GetValue(within), cancellationToken).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize([.. workers], Jobkeeper.Json.JobkeeperJsonContext.Default.IReadOnlyListWorkerInfo));
                return 0;
            }

            var table = new Table().AddColumns("worker", "kind", "last seen", "running", "completed/min", "completed 5 min", "failed 5 min", "jobs");
            foreach (var w in workers)
            {
                table.AddRow(
                    Markup.Escape(w.WorkerId),
                    w.Kind,
                    w.LastSeenAt?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "not in the window",
                    w.Running.ToString(CultureInfo.InvariantCulture),
                    w.CompletedPerMinute.ToString("0.#", CultureInfo.InvariantCulture),
                    w.CompletedLast5Minutes.ToString(CultureInfo.InvariantCulture),
                    w.FailedLast5Minutes.ToString(CultureInfo.InvariantCulture),
                    Markup.Escape(string.Join(", ", w.Jobs.Take(3).Select(j => j.Id)) + (w.Running > 3 ? ", …" : "")));
            }

            var console = JobsCommand.Output();
            console.Write(table);
            console.WriteLine($"{workers.Count} worker(s)");
            return 0;
        });
        return command;
    }
}
