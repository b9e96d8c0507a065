using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary><c>jobkeeper jobs ...</c> run as a real process against a real server; every change checked through the API.</summary>
public sealed class CliJobsCommandTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private HttpClient Client => fixture.Client;

    private string Url => fixture.Server.BaseAddress.ToString().TrimEnd('/');

    private static string NewType(string what) => $"cli.{what}.{Guid.NewGuid():N}";

    private Task<CliResult> Jobs(params string[] args) => CliRunner.RunAsync(["jobs", .. args, "--server", Url]);

    private static void Ok(CliResult result) => Assert.True(result.ExitCode == 0, result.ToString());

    private async Task<string> CreateAsync(string type, string extra = "") =>
        (await Client.CreateJobAsync($$"""{"type":"{{type}}"{{extra}}}""")).Str("id");

    [Fact]
    public async Task Create_prints_created_then_existing_for_a_unique_key_and_stores_what_it_was_given()
    {
        var type = NewType("create");
        var key = "nightly:" + Guid.NewGuid().ToString("N");
        var first = await Jobs("create", "--type", type, "--input", """{"file":"a.mp3"}""", "--label", "team:red", "--label", "env:prod", "--unique-key", key);
        Ok(first);
        var (word, id) = first.Stdout.Trim().Split(' ') is [var w, var i] ? (w, i) : throw new InvalidOperationException(first.ToString());
        Assert.Equal("created", word);
        var stored = await Client.GetJobAsync(id);
        Assert.Equal(("a.mp3", "red", "prod", key), (stored.GetProperty("input").Str("file"), stored.GetProperty("labels").Str("team"),
            stored.GetProperty("labels").Str("env"), stored.Str("unique_key")));

        var second = await Jobs("create", "--type", type, "--unique-key", key);
        Ok(second);
        Assert.Equal($"existing {id}", second.Stdout.Trim());

        var idempotent = await Jobs("create", "--type", type, "--idempotency-key", key + "-i", "--json");
        Ok(idempotent);
        var again = await Jobs("create", "--type", type, "--idempotency-key", key + "-i");
        Assert.Equal($"existing {JsonDocument.Parse(idempotent.Stdout).RootElement.Str("id")}", again.Stdout.Trim());

        var bad = await Jobs("create", "--type", type, "--debounce", "5");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("debounce_seconds", bad.Stderr + bad.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_shows_created_jobs_with_their_progress_and_filters_them()
    {
        var type = NewType("list");
        var other = NewType("list-other");
        var first = await CreateAsync(type, ""","labels":{"team":"red"}""");
        var second = await CreateAsync(type, ""","labels":{"team":"blue"}""");
        var third = await CreateAsync(other, ""","labels":{"team":"red"}""");
        await Client.PatchJobAsync(second, """{"progress":{"fraction":0.42}}""");

        var byType = await Jobs("list", "--type", type);
        Ok(byType);
        Assert.Contains(first, byType.Stdout, StringComparison.Ordinal);
        Assert.Contains(second, byType.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(third, byType.Stdout, StringComparison.Ordinal);
        Assert.Contains("2 job(s)", byType.Stdout, StringComparison.Ordinal);
        var secondRow = byType.Stdout.Split('\n').Single(l => l.Contains(second, StringComparison.Ordinal));
        Assert.Contains("42%", secondRow, StringComparison.Ordinal);
        Assert.Contains("queued", secondRow, StringComparison.Ordinal);
        foreach (var column in new[] { "id", "type", "status", "progress", "updated" })
        {
            Assert.Contains(column, byType.Stdout, StringComparison.Ordinal);
        }

        var byLabel = await Jobs("list", "--type", type, "--label", "team:red");
        Ok(byLabel);
        Assert.Contains(first, byLabel.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(second, byLabel.Stdout, StringComparison.Ordinal);

        var limited = await Jobs("list", "--type", type, "--status", "queued", "--limit", "1");
        Ok(limited);
        Assert.Contains(second, limited.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(first, limited.Stdout, StringComparison.Ordinal);
        Assert.Contains("1 job(s)", limited.Stdout, StringComparison.Ordinal);

        var none = await Jobs("list", "--type", type, "--status", "completed", "--all");
        Ok(none);
        Assert.Contains("0 job(s)", none.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_prints_the_details_or_the_raw_json()
    {
        var type = NewType("get");
        var id = await CreateAsync(type, ""","labels":{"episode_id":"ep-9"},"input":{"file":"a.wav"}""");

        var details = await Jobs("get", id);
        Ok(details);
        Assert.Contains(id, details.Stdout, StringComparison.Ordinal);
        Assert.Contains(type, details.Stdout, StringComparison.Ordinal);
        Assert.Contains("episode_id=ep-9", details.Stdout, StringComparison.Ordinal);
        Assert.Contains("queued", details.Stdout, StringComparison.Ordinal);

        var raw = await Jobs("get", id, "--json");
        Ok(raw);
        using var doc = JsonDocument.Parse(raw.Stdout);
        Assert.Equal(id, doc.RootElement.Str("id"));
        Assert.Equal("a.wav", doc.RootElement.GetProperty("input").Str("file"));
    }

    [Fact]
    public async Task Cancel_retry_and_delete_change_the_job()
    {
        var id = await CreateAsync(NewType("control"));

        var cancel = await Jobs("cancel", id);
        Ok(cancel);
        Assert.Equal("cancelled", (await Client.GetJobAsync(id)).Str("status"));

        var retry = await Jobs("retry", id);
        Ok(retry);
        var retried = await Client.GetJobAsync(id);
        Assert.Equal("queued", retried.Str("status"));
        Assert.Equal(2, retried.GetProperty("attempt").GetInt32());

        var delete = await Jobs("delete", id);
        Ok(delete);
        using var gone = await Client.GetAsync(Api.JobPath(id));
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Answer_answers_the_open_prompt()
    {
        var type = NewType("answer");
        var id = await CreateAsync(type);
        var claimed = await Client.ClaimOneAsync("w-cli-answer", type);
        await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(claimed.Token(), ""","key":"approve","question":"Ship it?","options":["yes","no"]"""));
        Assert.Equal("waiting", (await Client.GetJobAsync(id)).Str("status"));

        var answer = await Jobs("answer", id, "--answer", "yes", "--key", "approve", "--confidence", "0.8");
        Ok(answer);
        var answered = await Client.GetJobAsync(id);
        Assert.Equal("queued", answered.Str("status"));
        var prompt = Assert.Single(answered.GetProperty("prompts").EnumerateArray());
        Assert.Equal("yes", prompt.Str("answer"));
        Assert.Equal(0.8, prompt.GetProperty("confidence").GetDouble(), 6);
    }

    [Fact]
    public async Task Answer_sends_json_answers_as_json()
    {
        var type = NewType("answer-json");
        var id = await CreateAsync(type);
        var claimed = await Client.ClaimOneAsync("w-cli-answer-json", type);
        await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(claimed.Token(), ""","key":"count","question":"How many?" """));

        Ok(await Jobs("answer", id, "--answer", """{"count":3}"""));
        var prompt = Assert.Single((await Client.GetJobAsync(id)).GetProperty("prompts").EnumerateArray());
        Assert.Equal(3, prompt.GetProperty("answer").GetProperty("count").GetInt32());
    }

    [Fact]
    public async Task Server_refusals_print_the_problem_detail_and_exit_1()
    {
        var missing = "missing-" + Guid.NewGuid().ToString("N");
        using var response = await Client.GetAsync(Api.JobPath(missing));
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.NotFound);

        foreach (var args in new[] { new[] { "get", missing }, ["get", missing, "--json"], ["cancel", missing], ["delete", missing] })
        {
            var result = await Jobs(args);
            Assert.True(result.ExitCode == 1, result.ToString());
            Assert.Contains(problem.Str("detail"), result.Stderr, StringComparison.Ordinal);
            Assert.Equal("", result.Stdout);
        }

        // An illegal transition: a queued job cannot be retried.
        var id = await CreateAsync(NewType("refused"));
        using var direct = await Client.PostAsync(Api.JobPath(id) + "/retry", null);
        var conflict = await Api.ExpectProblemAsync(direct, HttpStatusCode.Conflict);
        var retry = await Jobs("retry", id);
        Assert.True(retry.ExitCode == 1, retry.ToString());
        Assert.Contains(conflict.Str("detail"), retry.Stderr, StringComparison.Ordinal);

        var noPrompt = await Jobs("answer", id, "--answer", "yes");
        Assert.True(noPrompt.ExitCode == 1, noPrompt.ToString());
        Assert.Contains("409", noPrompt.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_is_not_there_is_a_clear_message_and_exit_1()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await CliRunner.RunAsync("jobs", "list", "--server", $"http://127.0.0.1:{port}");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains($"cannot connect to the Jobkeeper server at http://127.0.0.1:{port}", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("(connection refused)", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_api_key_is_sent_as_a_bearer_token_and_a_refusal_is_reported()
    {
        // A stand-in server that records the Authorization header and refuses with a problem (as a keyed server would).
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var seen = AcceptOneAsync(listener);

        var result = await CliRunner.RunAsync("jobs", "get", "some-job", "--server", $"http://127.0.0.1:{port}", "--api-key", "jk_secret_123");
        var request = await seen;
        Assert.Contains("Authorization: Bearer jk_secret_123", request, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("GET /api/v1/jobs/some-job ", request, StringComparison.Ordinal);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("401 The API key is missing or not valid.", result.Stderr, StringComparison.Ordinal);
    }

    private static async Task<string> AcceptOneAsync(TcpListener listener)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var socket = await listener.AcceptTcpClientAsync(timeout.Token);
        var stream = socket.GetStream();
        var buffer = new byte[8192];
        var text = new System.Text.StringBuilder();
        while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer, timeout.Token);
            if (n == 0)
            {
                break;
            }

            text.Append(System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        }

        var body = """{"type":"https://jobkeeper.dev/problems/unauthorized","title":"Unauthorized","status":401,"detail":"The API key is missing or not valid."}""";
        var response = $"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/problem+json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(response), timeout.Token);
        return text.ToString();
    }

    [Fact]
    public async Task The_server_and_key_can_come_from_the_environment()
    {
        var type = NewType("env");
        var id = await CreateAsync(type);
        var result = await CliRunner.RunAsync(
            new Dictionary<string, string> { ["JOBKEEPER_SERVER"] = Url, ["JOBKEEPER_API_KEY"] = "test-key" },
            "jobs", "list", "--type", type);
        Ok(result);
        Assert.Contains(id, result.Stdout, StringComparison.Ordinal);
    }
}
