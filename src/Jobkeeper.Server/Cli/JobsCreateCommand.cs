using System.CommandLine;
using System.Text.Json;
using Jobkeeper.Client;
using Jobkeeper.Model;

namespace Jobkeeper.Server.Cli;

/// <summary>
/// <c>jobkeeper jobs create</c>: a job from the shell (a crontab line, a script), idempotent with <c>--unique-key</c> or
/// <c>--idempotency-key</c>. Prints <c>created ID</c>, or <c>existing ID</c> when the key's job was there already.
/// </summary>
internal static class JobsCreateCommand
{
    public static Command Create()
    {
        var type = new Option<string>("--type") { Description = "The job type, e.g. audio.analyze", Required = true };
        var queue = new Option<string?>("--queue") { Description = "The queue (default: default)" };
        var input = new Option<string?>("--input") { Description = "The input: JSON, or plain text sent as a JSON string" };
        var labels = new Option<string[]>("--label") { Description = "A label as key:value (repeat for several)", AllowMultipleArgumentsPerToken = false };
        var priority = new Option<int>("--priority") { Description = "Higher runs first (default 0)" };
        var uniqueKey = new Option<string?>("--unique-key") { Description = "Create only if no unfinished job has this key (else print the one that has)" };
        var window = new Option<double?>("--unique-window") { Description = "With --unique-key: only a job created this many seconds ago or less blocks" };
        var debounce = new Option<double?>("--debounce") { Description = "With --unique-key: fold into the key's queued job and run this many seconds after the last create" };
        var idempotencyKey = new Option<string?>("--idempotency-key") { Description = "Sent as Idempotency-Key: the same key within the server's window gives back the job it made" };
        var json = new Option<bool>("--json") { Description = "Print the job as JSON, as the API returns it" };
        var command = new Command("create", "Create a job") { type, queue, input, labels, priority, uniqueKey, window, debounce, idempotencyKey, json };
        CliServer.OnClient(command, async (parse, client, cancellationToken) =>
        {
            var job = new NewJob
            {
                Type = parse.GetValue(type)!,
                Queue = parse.GetValue(queue),
                Input = parse.GetValue(input) is { } text ? JobsCommand.ParseAnswer(text) : null,
                Labels = Labels(parse.GetValue(labels)),
                Priority = parse.GetValue(priority),
                UniqueKey = parse.GetValue(uniqueKey),
                UniqueWindowSeconds = parse.GetValue(window),
                DebounceSeconds = parse.GetValue(debounce),
            };
            var stored = parse.GetValue(idempotencyKey) is { } key
                ? await client.CreateIdempotentAsync(job, key, cancellationToken).ConfigureAwait(false)
                : await client.CreateAsync(job, cancellationToken).ConfigureAwait(false);
            Console.Out.WriteLine(parse.GetValue(json)
                ? JsonSerializer.Serialize(stored, Jobkeeper.Json.CoreJsonContext.Default.Job)
                : $"{(stored.Existing == true ? "existing" : "created")} {stored.Id}");
            return 0;
        });
        return command;
    }

    private static Dictionary<string, string>? Labels(string[]? pairs)
    {
        if (pairs is not { Length: > 0 })
        {
            return null;
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var colon = pair.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new CliException($"--label '{pair}' must be key:value");
            }

            labels[pair[..colon]] = pair[(colon + 1)..];
        }

        return labels;
    }
}
