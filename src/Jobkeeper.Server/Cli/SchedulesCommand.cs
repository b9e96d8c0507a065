using System.CommandLine;
using System.Globalization;
using Jobkeeper.Client;
using Jobkeeper.Contracts;
using Jobkeeper.Model;
using Spectre.Console;

namespace Jobkeeper.Server.Cli;

/// <summary><c>jobkeeper schedules list|get|create|set|delete|trigger|pause|resume</c> against a running server.</summary>
internal static class SchedulesCommand
{
    public static Command Create()
    {
        var command = new Command("schedules", "Recurring schedules: each fire time creates one job");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Named("get", "Show one schedule with its next fire times", (c, n, ct) => c.GetScheduleAsync(n, ct)));
        command.Subcommands.Add(CreateCommand());
        command.Subcommands.Add(Set());
        command.Subcommands.Add(Delete());
        command.Subcommands.Add(Trigger());
        command.Subcommands.Add(Named("pause", "Pause: no fire until resumed", (c, n, ct) => c.PauseScheduleAsync(n, ct)));
        command.Subcommands.Add(Named("resume", "Resume: the next fire is the first fire time from now", (c, n, ct) => c.ResumeScheduleAsync(n, ct)));
        return command;
    }

    private static Argument<string> NameArgument() => new("name") { Description = "The schedule's name" };

    private static Command List()
    {
        var command = new Command("list", "Every schedule: timing, state, next fire, last fire and its job");
        CliServer.OnClient(command, async (parse, client, cancellationToken) =>
        {
            var schedules = await client.ListSchedulesAsync(cancellationToken).ConfigureAwait(false);
            var table = new Table().AddColumns("schedule", "timing", "job type", "state", "next fire", "last fire", "last job", "skipped");
            foreach (var s in schedules)
            {
                table.AddRow(Markup.Escape(s.Name), Markup.Escape(Timing(s)), Markup.Escape(s.Job.Type), s.Paused ? "paused" : "active",
                    Time(s.NextRuns.Count > 0 ? s.NextRuns[0] : null), Time(s.LastFireAt), Markup.Escape(s.LastJobId ?? "-"),
                    s.SkippedFires.ToString(CultureInfo.InvariantCulture));
            }

            var console = JobsCommand.Output();
            console.Write(table);
            console.WriteLine($"{schedules.Count} schedule(s)");
            return 0;
        });
        return command;
    }

    private static Command CreateCommand()
    {
        var name = NameArgument();
        var type = new Option<string>("--type") { Description = "The job type each fire creates", Required = true };
        var (cron, interval, zone, misfire, catchUp, overlap) = TimingOptions();
        var queue = new Option<string?>("--queue") { Description = "The job's queue" };
        var input = new Option<string?>("--input") { Description = "The job's input: JSON, or plain text sent as a JSON string" };
        var paused = new Option<bool>("--paused") { Description = "Create it paused" };
        var command = new Command("create", "Create a schedule: --cron (5 or 6 fields) or --every SECONDS") { name, type, cron, interval, zone, misfire, catchUp, overlap, queue, input, paused };
        CliServer.OnClient(command, async (parse, client, cancellationToken) =>
        {
            var schedule = await client.CreateScheduleAsync(new NewSchedule
            {
                Name = parse.GetValue(name)!,
                Cron = parse.GetValue(cron),
                IntervalSeconds = parse.GetValue(interval),
                TimeZone = parse.GetValue(zone),
                Misfire = parse.GetValue(misfire),
                CatchUpLimit = parse.GetValue(catchUp),
                Overlap = parse.GetValue(overlap),
                Paused = parse.GetValue(paused),
                Job = new ScheduleJob
                {
                    Type = parse.GetValue(type)!,
                    Queue = parse.GetValue(queue),
                    Input = parse.GetValue(input) is { } text ? JobsCommand.ParseAnswer(text) : null,
                },
            }, cancellationToken).ConfigureAwait(false);
            Write(schedule);
            return 0;
        });
        return command;
    }

    private static Command Set()
    {
        var name = NameArgument();
        var (cron, interval, zone, misfire, catchUp, overlap) = TimingOptions();
        var command = new Command("set", "Change a schedule's timing or policies (what is not given stays)") { name, cron, interval, zone, misfire, catchUp, overlap };
        CliServer.OnClient(command, async (parse, client, cancellationToken) =>
        {
            var patch = new UpdateScheduleRequest
            {
                Cron = parse.GetResult(cron) is null ? default : new Optional<string?>(true, parse.GetValue(cron)),
                IntervalSeconds = parse.GetResult(interval) is null ? default : new Optional<int?>(true, parse.GetValue(interval)),
                TimeZone = parse.GetResult(zone) is null ? default : new Optional<string?>(true, parse.GetValue(zone)),
                Misfire = parse.GetResult(misfire) is null ? default : new Optional<string?>(true, parse.GetValue(misfire)),
                CatchUpLimit = parse.GetResult(catchUp) is null ? default : new Optional<int?>(true, parse.GetValue(catchUp)),
                Overlap = parse.GetResult(overlap) is null ? default : new Optional<string?>(true, parse.GetValue(overlap)),
            };
            Write(await client.UpdateScheduleAsync(parse.GetValue(name)!, patch, cancellationToken).ConfigureAwait(false));
            return 0;
        });
        return command;
    }

    private static Command Delete()
    {
        var name = NameArgument();
        var command = new Command("delete", "Delete a schedule; the jobs it created stay") { name };
        CliServer.OnClient(command, async (parse, client, cancellationToken) =>
        {
            await client.DeleteScheduleAsync(parse.GetValue(name)!, cancellationToken).ConfigureAwait(false);
            Console.Out.WriteLine($"deleted schedule {parse.GetValue(name)}");
            return 0;
        });
        return command;
    }

    private static Command Trigger()
    {
        var name = NameArgument();
        var command = new Command("trigger", "An extra run now, outside the timing; prints the job it created") { name };
        var (actor, reason) = CliServer.Attribution(command, "the job's history");
        CliServer.OnClient(command, async (parse, client, cancellationToken) =>
        {
            var triggered = await client.TriggerScheduleAsync(parse.GetValue(name)!, parse.GetValue(actor), parse.GetValue(reason),
                cancellationToken).ConfigureAwait(false);
            Console.Out.WriteLine($"triggered {triggered.Schedule.Name}: job {triggered.Job.Id}");
            return 0;
        });
        return command;
    }

    private static Command Named(string verb, string description, Func<JobkeeperClient, string, CancellationToken, Task<Schedule>> call)
    {
        var name = NameArgument();
        var command = new Command(verb, description) { name };
        CliServer.OnClient(command, async (parse, client, cancellationToken) =>
        {
            Write(await call(client, parse.GetValue(name)!, cancellationToken).ConfigureAwait(false));
            return 0;
        });
        return command;
    }

    private static (Option<string?> Cron, Option<int?> Interval, Option<string?> Zone, Option<string?> Misfire, Option<int?> CatchUp, Option<string?> Overlap) TimingOptions() =>
    (
        new Option<string?>("--cron") { Description = "A cron expression: 5 fields, or 6 with seconds first (quote it)" },
        new Option<int?>("--every") { Description = "Fire every SECONDS (counted from the Unix epoch) instead of a cron expression" },
        new Option<string?>("--time-zone") { Description = "IANA time zone of the cron expression (default UTC)" },
        new Option<string?>("--misfire") { Description = "Missed fire times: skip, fire_once (default) or catch_up" },
        new Option<int?>("--catch-up-limit") { Description = "With --misfire catch_up: at most this many missed fire times" },
        new Option<string?>("--overlap") { Description = "When the previous run is unfinished: allow (default), skip or cancel_previous" }
    );

    private static void Write(Schedule s)
    {
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("schedule", Markup.Escape(s.Name));
        grid.AddRow("timing", Markup.Escape(Timing(s)));
        grid.AddRow("job", Markup.Escape(s.Job.Type + (s.Job.Queue is { } q ? $" in queue {q}" : "")));
        grid.AddRow("state", s.Paused ? "paused" : "active");
        grid.AddRow("policies", Markup.Escape($"misfire {s.Misfire}{(s.CatchUpLimit is { } n ? $" (up to {n})" : "")}, overlap {s.Overlap}"));
        grid.AddRow("next fires", s.NextRuns.Count == 0 ? "-" : string.Join(", ", s.NextRuns.Select(r => Time(r))));
        grid.AddRow("last fire", Time(s.LastFireAt) + (s.LastJobId is { } id ? Markup.Escape($" (job {id})") : ""));
        grid.AddRow("skipped fires", s.SkippedFires.ToString(CultureInfo.InvariantCulture));
        JobsCommand.Output().Write(grid);
    }

    private static string Timing(Schedule s) =>
        s.Cron is { } cron ? $"cron '{cron}' {s.TimeZone ?? "UTC"}" : $"every {s.IntervalSeconds} s";

    private static string Time(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z" : "-";
}
