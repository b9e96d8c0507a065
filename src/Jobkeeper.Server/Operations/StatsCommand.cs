using System.CommandLine;
using System.Text.Json;
using Jobkeeper.Client;
using Jobkeeper.Storage;
using Spectre.Console;

namespace Jobkeeper.Server.Operations;

/// <summary><c>jobkeeper stats</c>: jobs by status, schema version and size, of a store or a running server.</summary>
internal static class StatsCommand
{
    public static Command Create()
    {
        var command = new Command("stats", "Show job counts by status, schema version and size")
        {
            StoreTarget.Db, StoreTarget.Postgres, StoreTarget.ServerUrl,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            StoreTarget.PlainWhenRedirected();
            try
            {
                if (parse.GetValue(StoreTarget.ServerUrl) is { } url)
                {
                    using var http = StoreTarget.Client(url);
                    var root = await new JobkeeperClient(http).GetHealthReportAsync(cancellationToken).ConfigureAwait(false);
                    var store = root.GetProperty("store");
                    var byStatus = root.TryGetProperty("jobs_by_status", out var s) && s.ValueKind == JsonValueKind.Object
                        ? s.EnumerateObject().Select(p => new KeyValuePair<string, long>(p.Name, p.Value.GetInt64())).ToList()
                        : [];
                    AnsiConsole.Write(StoreTarget.StatsTable(
                        store.GetProperty("provider").GetString() ?? "?", store.GetProperty("location").GetString() ?? "?",
                        store.TryGetProperty("schema_version", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null,
                        store.TryGetProperty("size_bytes", out var b) && b.ValueKind == JsonValueKind.Number ? b.GetInt64() : null,
                        byStatus,
                        root.TryGetProperty("jobs_count", out var c) && c.ValueKind == JsonValueKind.Number ? c.GetInt64() : null));
                    return root.TryGetProperty("status", out var status) && status.GetString() == "ok" ? 0 : 1;
                }

                await using var provider = await StoreTarget.OpenAsync(parse, "stats", readOnly: true, cancellationToken).ConfigureAwait(false);
                var stats = await provider.GetRequiredService<IJobStore>().GetStatsAsync(cancellationToken).ConfigureAwait(false);
                AnsiConsole.Write(StoreTarget.StatsTable(stats));
                return 0;
            }
            catch (Exception ex) when (StoreTarget.IsStoreError(ex))
            {
                return await StoreTarget.FailAsync("stats", ex).ConfigureAwait(false);
            }
        });
        return command;
    }
}
