using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary><c>jobkeeper queues ...</c> run as a real process against a real server; every change checked through the API.</summary>
public sealed class CliQueuesCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private HttpClient Client => fixture.Client;

    private string Url => fixture.Server.BaseAddress.ToString().TrimEnd('/');

    private static string NewQueue(string what) => $"cli-{what}-{Guid.NewGuid():N}";

    private Task<CliResult> Queues(params string[] args) => CliRunner.RunAsync(["queues", .. args, "--server", Url]);

    private static void Ok(CliResult result) => Assert.True(result.ExitCode == 0, result.ToString());

    private async Task<JsonElement> QueueAsync(string name) => await Client.GetJsonAsync($"/api/v1/queues/{name}");

    [Fact]
    public async Task Set_changes_the_limits_get_and_list_show_them_and_none_removes_them()
    {
        var queue = NewQueue("set");
        await Client.CreateJobAsync($$"""{"type":"cli.queue.{{queue}}","queue":"{{queue}}"}""");

        var set = await Queues("set", queue, "--concurrency-limit", "4", "--partition", "label:user", "--partition-limit", "1",
            "--rate-limit", "50/60", "--rate-per-key", "--actor", "ops", "--reason", "tenant fairness");
        Ok(set);
        var stored = await QueueAsync(queue);
        Assert.Equal(4, stored.GetProperty("concurrency_limit").GetInt32());
        Assert.Equal("label:user", stored.GetProperty("partition").Str("key"));
        Assert.Equal(1, stored.GetProperty("partition").GetProperty("limit").GetInt32());
        Assert.Equal(50, stored.GetProperty("rate_limit").GetProperty("count").GetInt32());
        Assert.True(stored.GetProperty("rate_limit").GetProperty("per_key").GetBoolean());
        Assert.Contains("0 of 4", set.Stdout, StringComparison.Ordinal);

        var get = await Queues("get", queue);
        Ok(get);
        Assert.Contains("label:user, 1 per key", get.Stdout, StringComparison.Ordinal);
        Assert.Contains("0/50 per 60s per key", get.Stdout, StringComparison.Ordinal);
        var json = await Queues("get", queue, "--json");
        Ok(json);
        Assert.Equal(4, JsonDocument.Parse(json.Stdout).RootElement.GetProperty("concurrency_limit").GetInt32());

        var list = await Queues("list");
        Ok(list);
        var row = list.Stdout.Split('\n').Single(l => l.Contains(queue, StringComparison.Ordinal));
        Assert.Contains("0/4", row, StringComparison.Ordinal);
        Assert.Contains("running", row, StringComparison.Ordinal);

        Ok(await Queues("set", queue, "--concurrency-limit", "none", "--rate-limit", "none", "--partition", "none"));
        var cleared = await QueueAsync(queue);
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("concurrency_limit").ValueKind);
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("rate_limit").ValueKind);
        Assert.Equal(JsonValueKind.Null, cleared.GetProperty("partition").ValueKind);
    }

    [Fact]
    public async Task Pause_and_resume_act_on_the_queue_or_one_type_in_it()
    {
        var queue = NewQueue("pause");
        await Client.CreateJobAsync($$"""{"type":"cli.queue.{{queue}}","queue":"{{queue}}"}""");

        var paused = await Queues("pause", queue, "--reason", "bug 123");
        Ok(paused);
        Assert.Contains($"queue {queue}: paused", paused.Stdout, StringComparison.Ordinal);
        Assert.True((await QueueAsync(queue)).GetProperty("paused").GetBoolean());
        Ok(await Queues("resume", queue));
        Assert.False((await QueueAsync(queue)).GetProperty("paused").GetBoolean());

        var typePaused = await Queues("pause", queue, "--type", "invoice.send");
        Ok(typePaused);
        Assert.Contains("paused: invoice.send", typePaused.Stdout, StringComparison.Ordinal);
        Assert.Equal(["invoice.send"], (await QueueAsync(queue)).GetProperty("paused_types").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task Bad_values_and_unknown_queues_fail_with_the_server_s_reason()
    {
        var queue = NewQueue("bad");
        await Client.CreateJobAsync($$"""{"type":"cli.queue.{{queue}}","queue":"{{queue}}"}""");

        var zero = await Queues("set", queue, "--concurrency-limit", "0");
        Assert.Equal(1, zero.ExitCode);
        Assert.Contains("concurrency_limit", zero.Stderr, StringComparison.Ordinal);
        var rate = await Queues("set", queue, "--rate-limit", "fifty");
        Assert.Equal(1, rate.ExitCode);
        Assert.Contains("COUNT/SECONDS", rate.Stderr, StringComparison.Ordinal);
        var unknown = await Queues("pause", NewQueue("nowhere"));
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("404", unknown.Stderr, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, (await QueueAsync(queue)).GetProperty("concurrency_limit").ValueKind);
    }
}
