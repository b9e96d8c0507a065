using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Jobkeeper.Client;
using Jobkeeper.Contracts;
using Jobkeeper.Model;
using Spectre.Console;

namespace Jobkeeper.Server.Cli;

/// <summary><c>jobkeeper queues list|get|pause|resume|set</c>: queues' state and settings on a running server.</summary>
internal static class QueuesCommand
{
    public static Command Create()
    {
        var command = new Command("queues", "See queues at a glance and change their limits, partitions, rate limits and pause");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Get());
        command.Subcommands.Add(PauseOrResume("pause", "Pause a queue (or --type in it): no instance claims its jobs once this returns; running jobs finish",
            (c, name, type, by, ct) => c.PauseQueueAsync(name, type, by.Actor, by.Reason, ct)));
        command.Subcommands.Add(PauseOrResume("resume", "Resume a queue (or --type in it); waiting workers wake at once",
            (c, name, type, by, ct) => c.ResumeQueueAsync(name, type, by.Actor, by.Reason, ct)));
        command.Subcommands.Add(Set());
        return command;
    }

    private static Argument<string> NameArgument() => new("name") { Description = "The queue's name" };

    private static Command List()
    {
        var command = new Command("list", "Every queue: paused, running against its limit, queued, oldest queued age, finished in the last minutes");
        var (server, apiKey) = CliServer.Connection(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var url = parse.GetValue(server);
            return CliServer.RunAsync(url, async () =>
            {
                using var http = CliServer.CreateHttp(url, parse.GetValue(apiKey));
                var queues = await new JobkeeperClient(http).ListQueuesAsync(cancellationToken).ConfigureAwait(false);
                var table = new Table().AddColumns("queue", "state", "running", "queued", "waiting", "failed", "oldest queued", "done 1m/5m/15m", "partition", "rate limit");
                foreach (var queue in queues)
                {
                    table.AddRow(
                        Markup.Escape(queue.Name),
                        State(queue),
                        queue.ConcurrencyLimit is { } limit ? $"{queue.Running}/{limit}" : queue.Running.ToString(CultureInfo.InvariantCulture),
                        Count(queue, JobStatus.Queued),
                        Count(queue, JobStatus.Waiting),
                        Count(queue, JobStatus.Failed),
                        Age(queue.OldestQueuedAgeSeconds),
                        $"{queue.Throughput.LastMinute}/{queue.Throughput.Last5Minutes}/{queue.Throughput.Last15Minutes}",
                        Markup.Escape(Partition(queue.Partition)),
                        Rate(queue.RateLimit, queue.StartedInRateWindow));
                }

                var console = JobsCommand.Output();
                console.Write(table);
                console.WriteLine($"{queues.Count} queue(s)");
                return 0;
            });
        });
        return command;
    }

    private static Command Get()
    {
        var name = NameArgument();
        var json = new Option<bool>("--json") { Description = "Print the queue as JSON, as the API returns it" };
        var command = new Command("get", "Show one queue's settings and state") { name, json };
        var (server, apiKey) = CliServer.Connection(command);
        command.SetAction((parse, cancellationToken) =>
        {
            var url = parse.GetValue(server);
            return CliServer.RunAsync(url, async () =>
            {
                using var http = CliServer.CreateHttp(url, parse.GetValue(apiKey));
                var queue = await new JobkeeperClient(http).GetQueueAsync(parse.GetValue(name)!, cancellationToken).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    Console.Out.WriteLine(JsonSerializer.Serialize(queue, Jobkeeper.Json.JobkeeperJsonContext.Default.QueueInfo));
                    return 0;
                }

                Write(queue);
                return 0;
            });
        });
        return command;
    }

    private static Command PauseOrResume(string verb, string description,
        Func<JobkeeperClient, string, string?, (string? Actor, string? Reason), CancellationToken, Task<QueueInfo>> act)
    {
        var name = NameArgument();
        var type = new Option<string?>("--type") { Description = "Only this job type in the queue" };
        var command = new Command(verb, description) { name, type };
        var (server, apiKey) = CliServer.Connection(command);
        var (actor, reason) = CliServer.Attribution(command, "the server's log");
        command.SetAction((parse, cancellationToken) =>
        {
            var url = parse.GetValue(server);
            return CliServer.RunAsync(url, async () =>
            {
                using var http = CliServer.CreateHttp(url, parse.GetValue(apiKey));
                var queue = await act(new JobkeeperClient(http), parse.GetValue(name)!, parse.GetValue(type), (parse.GetValue(actor), parse.GetValue(reason)),
                    cancellationToken).ConfigureAwait(false);
                Console.Out.WriteLine($"queue {queue.Name}: {State(queue)}");
                return 0;
            });
        });
        return command;
    }

    private static Command Set()
    {
        var name = NameArgument();
        var concurrency = new Option<string?>("--concurrency-limit") { Description = "At most this many running at once over all instances, or 'none'" };
        var partition = new Option<string?>("--partition") { Description = "Partition key: 'type' or 'label:<name>', or 'none'" };
        var partitionLimit = new Option<string?>("--partition-limit") { Description = "At most this many running per partition key, or 'none' (keys only take turns)" };
        var rate = new Option<string?>("--rate-limit") { Description = "At most COUNT started per SECONDS, as COUNT/SECONDS (e.g. 50/60), or 'none'" };
        var perKey = new Option<bool>("--rate-per-key") { Description = "The rate limit holds per partition key" };
        var command = new Command("set", "Change a queue's settings; options left out stay as they are") { name, concurrency, partition, partitionLimit, rate, perKey };
        var (server, apiKey) = CliServer.Connection(command);
        var (actor, reason) = CliServer.Attribution(command, "the server's log");
        command.SetAction((parse, cancellationToken) =>
        {
            var url = parse.GetValue(server);
            return CliServer.RunAsync(url, async () =>
            {
                using var http = CliServer.CreateHttp(url, parse.GetValue(apiKey));
                var client = new JobkeeperClient(http);
                var queueName = parse.GetValue(name)!;
                var patch = new UpdateQueueRequest();
                if (parse.GetValue(concurrency) is { } limit)
                {
                    patch = patch with { ConcurrencyLimit = NumberOrNone(limit, "--concurrency-limit") };
                }

                if (parse.GetValue(partition) is { } key)
                {
                    var perKeyLimit = parse.GetValue(partitionLimit) is { } l ? NumberOrNone(l, "--partition-limit") : null;
                    patch = patch with { Partition = key == "none" ? null : new QueuePartition { Key = key, Limit = perKeyLimit } };
                }
                else if (parse.GetValue(partitionLimit) is { } l)
                {
                    var current = await client.GetQueueAsync(queueName, cancellationToken).ConfigureAwait(false);
                    patch = patch with
                    {
                        Partition = (current.Partition ?? throw new CliException("--partition-limit needs a partition: give --partition too"))
                            with { Limit = NumberOrNone(l, "--partition-limit") },
                    };
                }

                if (parse.GetValue(rate) is { } r)
                {
                    patch = patch with { RateLimit = r == "none" ? null : Rate(r, parse.GetValue(perKey)) };
                }

                var queue = await client.UpdateQueueAsync(queueName, patch, parse.GetValue(actor), parse.GetValue(reason), cancellationToken).ConfigureAwait(false);
                Write(queue);
                return 0;
            });
        });
        return command;
    }

    private static int? NumberOrNone(string text, string option) =>
        text == "none" ? null
        : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
        : throw new CliException($"{option} must be a whole number or 'none' (got '{text}')");

    private static QueueRateLimit Rate(string text, bool perKey)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            throw new CliException($"--rate-limit must be COUNT/SECONDS, e.g. 50/60, or 'none' (got '{text}')");
        }

        return new QueueRateLimit { Count = count, PeriodSeconds = seconds, PerKey = perKey };
    }

    private static void Write(QueueInfo queue)
    {
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("queue", Markup.Escape(queue.Name));
        grid.AddRow("state", State(queue));
        grid.AddRow("running", queue.ConcurrencyLimit is { } limit ? $"{queue.Running} of {limit}" : $"{queue.Running} (no limit)");
        grid.AddRow("partition", Markup.Escape(Partition(queue.Partition)));
        grid.AddRow("rate limit", Rate(queue.RateLimit, queue.StartedInRateWindow));
        grid.AddRow("jobs", string.Join(", ", queue.Counts.Where(c => c.Value > 0).Select(c => $"{c.Key} {c.Value}")) is { Length: > 0 } counts ? counts : "none");
        grid.AddRow("oldest queued", Age(queue.OldestQueuedAgeSeconds));
        grid.AddRow("finished", $"{queue.Throughput.LastMinute} in the last minute, {queue.Throughput.Last5Minutes} in 5, {queue.Throughput.Last15Minutes} in 15");
        if (queue.UpdatedAt is { } at)
        {
            grid.AddRow("settings changed", at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        }

        JobsCommand.Output().Write(grid);
    }

    private static string State(QueueInfo queue) =>
        queue.Paused ? "paused"
        : queue.PausedTypes.Count > 0 ? Markup.Escape("running, paused: " + string.Join(", ", queue.PausedTypes))
        : "running";

    private static string Count(QueueInfo queue, JobStatus status) =>
        queue.Counts.GetValueOrDefault(status.ToName()).ToString(CultureInfo.InvariantCulture);

    private static string Partition(QueuePartition? partition) =>
        partition is null ? "none" : partition.Limit is { } limit ? $"{partition.Key}, {limit} per key" : $"{partition.Key}, turns only";

    private static string Rate(QueueRateLimit? rate, long? started) =>
        rate is null ? "none" : $"{started ?? 0}/{rate.Count} per {rate.PeriodSeconds}s{(rate.PerKey ? " per key" : "")}";

    private static string Age(double? seconds) => seconds switch
    {
        null => "-",
        < 60 => $"{seconds:0}s",
        < 3600 => $"{seconds / 60:0}m",
        _ => $"{seconds / 3600:0.#}h",
    };
}
