using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Jobkeeper.Client;
using Jobkeeper.Model;
using Spectre.Console;

namespace Jobkeeper.Server.Cli;

/// <summary><c>jobkeeper jobs create|list|get|cancel|retry|delete|answer</c>: operator commands against a running server.</summary>
internal static class JobsCommand
{
    public static Command Create()
    {
        var command = new Command("jobs", "List and manage the jobs of a running server");
        command.Subcommands.Add(JobsCreateCommand.Create());
        command.Subcommands.Add(List());
        command.Subcommands.Add(Get());
        command.Subcommands.Add(JobsActionCommand.Create("cancel", "Cancel a job, or every job the filters match (a running job is asked to stop)",
            async (c, id, actor, reason, ct) => JobsActionCommand.Done("cancel requested for", await c.CancelAsync(id, actor, reason, ct).ConfigureAwait(false))));
        command.Subcommands.Add(JobsActionCommand.Create("retry", "Queue a failed or cancelled job again, or every one the filters match",
            async (c, id, actor, reason, ct) => JobsActionCommand.Done("queued again:", await c.RetryAsync(id, actor, reason, ct).ConfigureAwait(false))));
        command.Subcommands.Add(JobsActionCommand.Create("delete", "Delete a job with its history, or every job the filters match (who and why go to the server's log)",
            async (c, id, actor, reason, ct) =>
            {
                await c.DeleteAsync(id, actor, reason, ct).ConfigureAwait(false);
                return $"deleted {id}";
            }));
        command.Subcommands.Add(Answer());
        return command;
    }

    private static Argument<string> IdArgument() => new("id") { Description = "The job id" };

    private static Command List()
    {
        var status = new Option<string?>("--status") { Description = "Only jobs with this status (queued, running, waiting, completed, failed, cancelled; comma-separated for several)" };
        var type = new Option<string?>("--type") { Description = "Only jobs of this type" };
        var queue = new Option<string?>("--queue") { Description = "Only jobs in this queue" };
        var label = new Option<string?>("--label") { Description = "Only jobs with this label, as key:value" };
        var search = new Option<string?>("--search", "-q") { Description = "Only jobs whose id starts with this, or whose type, labels, input, result and error have all its words" };
        var sort = new Option<string?>("--sort") { Description = "The order: created, updated, priority or duration, with a leading - for descending (default -created, newest first)" };
        var limit = new Option<int>("--limit") { Description = "How many jobs to show, newest first (default 50)", DefaultValueFactory = _ => 50 };
        var all = new Option<bool>("--all") { Description = "Show every matching job (pages through them all)" };
        var json = new Option<bool>("--json") { Description = "Print each job as JSON, as the API returns it, one per line (for jq and scripts)" };
        var ids = new Option<bool>("--ids") { Description = "Print only the ids, one per line (for xargs and scripts)" };
        var command = new Command("list", "List jobs, newest first") { status, type, queue, label, search, sort, limit, all, json, ids };
        var (server, apiKey) = CliServer.Connection(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var url = parse.GetValue(server);
            return CliServer.RunAsync(url, async () =>
            {
                var max = parse.GetValue(all) ? int.MaxValue : parse.GetValue(limit);
                if (max < 1)
                {
                    throw new CliException("--limit must be at least 1");
                }

                using var http = CliServer.CreateHttp(url, parse.GetValue(apiKey));
                var client = new JobkeeperClient(http);
                if (parse.GetValue(json) && parse.GetValue(ids))
                {
                    throw new CliException("give --json or --ids, not both");
                }

                var jobs = new List<Job>();
                await foreach (var job in client.ListAsync(parse.GetValue(status), parse.GetValue(type), parse.GetValue(label), parse.GetValue(queue), parse.GetValue(search), parse.GetValue(sort), Math.Min(max, 500), cancellationToken).ConfigureAwait(false))
                {
                    jobs.Add(job);
                    if (jobs.Count >= max)
                    {
                        break;
                    }
                }

                if (parse.GetValue(ids) || parse.GetValue(json))
                {
                    // Plain lines and nothing else, so a script reads them as they are.
                    foreach (var job in jobs)
                    {
                        Console.Out.WriteLine(parse.GetValue(ids) ? job.Id : JsonSerializer.Serialize(job, Jobkeeper.Json.CoreJsonContext.Default.Job));
                    }

                    return 0;
                }

                var table = new Table().AddColumns("id", "type", "queue", "status", "progress", "updated");
                foreach (var job in jobs)
                {
                    table.AddRow(
                        Markup.Escape(job.Id),
                        Markup.Escape(job.Type),
                        Markup.Escape(job.Queue),
                        job.Status.ToName(),
                        job.Progress?.Fraction is { } f ? (f * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%" : "",
                        job.UpdatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
                }

                var console = Output();
                console.Write(table);
                console.WriteLine($"{jobs.Count} job(s)");
                return 0;
            });
        });
        return command;
    }

    private static Command Get()
    {
        var id = IdArgument();
        var json = new Option<bool>("--json") { Description = "Print the job as JSON, as the API returns it" };
        var command = new Command("get", "Show one job") { id, json };
        var (server, apiKey) = CliServer.Connection(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var url = parse.GetValue(server);
            return CliServer.RunAsync(url, async () =>
            {
                using var http = CliServer.CreateHttp(url, parse.GetValue(apiKey));
                var job = await new JobkeeperClient(http).GetRequiredAsync(parse.GetValue(id)!, cancellationToken).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(job, Jobkeeper.Json.CoreJsonContext.Default.Job));
                    return 0;
                }

                WriteDetails(JsonSerializer.SerializeToElement(job, Jobkeeper.Json.CoreJsonContext.Default.Job));
                return 0;
            });
        });
        return command;
    }

    private static void WriteDetails(JsonElement job)
    {
        var grid = new Grid().AddColumn().AddColumn();
        foreach (var property in job.EnumerateObject())
        {
            var value = property.Value;
            var text = property.Name switch
            {
                "progress" when value.ValueKind == JsonValueKind.Object => ProgressText(value),
                "labels" when value.ValueKind == JsonValueKind.Object =>
                    string.Join(", ", value.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}")),
                _ => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText(),
            };
            if (value.ValueKind is JsonValueKind.Null || (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 0))
            {
                continue;
            }

            grid.AddRow(new Text(property.Name), new Text(text));
        }

        Output().Write(grid);
    }

    private static string ProgressText(JsonElement progress)
    {
        var parts = new List<string>();
        if (progress.TryGetProperty("fraction", out var f) && f.ValueKind == JsonValueKind.Number)
        {
            parts.Add((f.GetDouble() * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%");
        }

        foreach (var name in new[] { "stage", "message" })
        {
            if (progress.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String)
            {
                parts.Add(v.GetString()!);
            }
        }

        if (progress.TryGetProperty("current", out var c) && c.ValueKind == JsonValueKind.Number)
        {
            parts.Add(progress.TryGetProperty("total", out var t) && t.ValueKind == JsonValueKind.Number ? $"{c.GetRawText()}/{t.GetRawText()}" : c.GetRawText());
        }

        return string.Join(" · ", parts);
    }

    private static Command Answer()
    {
        var id = IdArgument();
        var answer = new Option<string>("--answer") { Description = "The answer: JSON (true, 3, {\"a\":1}, \"text\") or plain text", Required = true };
        var key = new Option<string?>("--key") { Description = "The prompt key being answered (guards against answering a newer question)" };
        var confidence = new Option<double?>("--confidence") { Description = "How sure the answer is, 0..1" };
        var command = new Command("answer", "Answer the open prompt of a waiting job") { id, answer, key, confidence };
        var (server, apiKey) = CliServer.Connection(command);
        var (actor, reason) = CliServer.Attribution(command, "the job's history");
        command.SetAction((parse, cancellationToken) =>
        {
            var url = parse.GetValue(server);
            return CliServer.RunAsync(url, async () =>
            {
                using var http = CliServer.CreateHttp(url, parse.GetValue(apiKey));
                var value = ParseAnswer(parse.GetValue(answer)!);
                var job = await new JobkeeperClient(http).AnswerAsync(parse.GetValue(id)!, value, parse.GetValue(confidence),
                    answeredBy: parse.GetValue(actor), reason: parse.GetValue(reason), key: parse.GetValue(key), cancellationToken: cancellationToken).ConfigureAwait(false);
                Console.Out.WriteLine($"answered {job.Id}: status {job.Status.ToName()}");
                return 0;
            });
        });
        return command;
    }

    /// <summary>Valid JSON is sent as it is; anything else as a JSON string.</summary>
    internal static JsonElement ParseAnswer(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            using var doc = JsonDocument.Parse(System.Text.Json.Nodes.JsonValue.Create(text).ToJsonString());
            return doc.RootElement.Clone();
        }
    }

    /// <summary>Spectre output on stdout; when redirected, plain text wide enough not to wrap ids or timestamps.</summary>
    internal static IAnsiConsole Output()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Console.Out),
            Ansi = Console.IsOutputRedirected ? AnsiSupport.No : AnsiSupport.Detect,
            Interactive = InteractionSupport.No,
        });
        if (Console.IsOutputRedirected)
        {
            console.Profile.Width = 200;
        }

        return console;
    }
}
