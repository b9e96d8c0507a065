using System.CommandLine;
using System.Globalization;
using Jobkeeper.Client;
using Jobkeeper.Contracts;
using Jobkeeper.Model;

namespace Jobkeeper.Server.Cli;

/// <summary>
/// <c>jobkeeper jobs retry|cancel|delete</c>: one job by id, or every job the filters match (<c>POST /api/v1/jobs/bulk</c>),
/// with <c>--dry-run</c> to count them first.
/// </summary>
internal static class JobsActionCommand
{
    /// <summary>A bulk action over many jobs can outlast the usual request timeout; Ctrl+C still stops it (and it resumes when run again).</summary>
    private static readonly TimeSpan BulkTimeout = TimeSpan.FromHours(1);

    public static Command Create(string action, string description, Func<JobkeeperClient, string, string?, string?, CancellationToken, Task<string>> one)
    {
        var id = new Argument<string?>("id") { Description = "The job id; leave out and give filters to act on every job they match", Arity = ArgumentArity.ZeroOrOne };
        var status = new Option<string?>("--status") { Description = "Every job with this status (comma-separated for several)" };
        var type = new Option<string?>("--type") { Description = "Every job of this type" };
        var queue = new Option<string?>("--queue") { Description = "Every job in this queue" };
        var label = new Option<string[]>("--label") { Description = "Every job with this label, as key:value (repeat for several)", AllowMultipleArgumentsPerToken = false };
        var search = new Option<string?>("--search", "-q") { Description = "Every job whose id starts with this, or whose type, labels, input, result and error have all its words" };
        var createdAfter = new Option<DateTimeOffset?>("--created-after") { Description = "Every job created at or after this time (ISO 8601)" };
        var createdBefore = new Option<DateTimeOffset?>("--created-before") { Description = "Every job created before this time (ISO 8601)" };
        var all = new Option<bool>("--all") { Description = "Every job, with no filter (required when no filter is given)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Only count the jobs the filters match; change nothing" };
        var command = new Command(action, description) { id, status, type, queue, label, search, createdAfter, createdBefore, all, dryRun };
        var (server, apiKey) = CliServer.Connection(command);
        var (actor, reason) = CliServer.Attribution(command, "each job's history");
        command.SetAction((parse, cancellationToken) =>
        {
            var url = parse.GetValue(server);
            return CliServer.RunAsync(url, async () =>
            {
                var filter = new JobFilter
                {
                    Status = parse.GetValue(status),
                    Type = parse.GetValue(type),
                    Queue = parse.GetValue(queue),
                    Q = parse.GetValue(search),
                    Label = parse.GetValue(label) is { Length: > 0 } labels ? labels : null,
                    CreatedAfter = parse.GetValue(createdAfter),
                    CreatedBefore = parse.GetValue(createdBefore),
                };
                var filtered = filter != new JobFilter() || parse.GetValue(all);
                var jobId = parse.GetValue(id);
                if (jobId is not null && filtered)
                {
                    throw new CliException($"give a job id or filters (--status, --type, --queue, --label, --search, --created-after, --created-before, --all), not both");
                }

                if (jobId is null && !filtered)
                {
                    throw new CliException($"give a job id, or filters such as --status failed --type x to {action} every job they match (--all for every job)");
                }

                using var http = CliServer.CreateHttp(url, parse.GetValue(apiKey));
                var client = new JobkeeperClient(http);
                if (jobId is not null)
                {
                    Console.Out.WriteLine(await one(client, jobId, parse.GetValue(actor), parse.GetValue(reason), cancellationToken).ConfigureAwait(false));
                    return 0;
                }

                http.Timeout = BulkTimeout;
                var request = new BulkActionRequest { Action = action, Filter = filter, All = parse.GetValue(all) ? true : null, DryRun = parse.GetValue(dryRun) ? true : null };
                var result = await client.BulkAsync(request, parse.GetValue(actor), parse.GetValue(reason), cancellationToken).ConfigureAwait(false);
                Console.Out.WriteLine(result.DryRun
                    ? $"dry run: {Count(result.Matched)} would be considered for {action}; nothing changed"
                    : $"{action}: {result.Matched.ToString(CultureInfo.InvariantCulture)} matched, {result.Changed.ToString(CultureInfo.InvariantCulture)} changed, {result.Skipped.ToString(CultureInfo.InvariantCulture)} skipped (their status does not allow it, or they changed meanwhile)");
                return 0;
            });
        });
        return command;
    }

    private static string Count(long jobs) => jobs.ToString(CultureInfo.InvariantCulture) + (jobs == 1 ? " job" : " jobs");

    /// <summary>The line a single job's action prints.</summary>
    public static string Done(string what, Job job) => $"{what} {job.Id}: status {job.Status.ToName()}";
}
