using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>Access control around the server process: key creation, the loopback rule, rate limits, and logs free of secrets.</summary>
public sealed class AccessControlServerTests
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Keys_add_prints_a_key_once_stores_only_its_hash_and_the_key_works()
    {
        using var dir = new TempDirectory("jobkeeper-keys");
        var file = dir.File("appsettings.json");
        var added = await CliRunner.RunInAsync(dir.Path, CliTimeout, "keys", "add", "--name", "reporter", "--role", "read", "--role", "answer", "--file", file);
        Assert.True(added.ExitCode == 0, $"keys add: exit {added.ExitCode}\n{added.Stderr}");
        var key = added.Stdout.Trim();
        Assert.Single(added.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches("^jk_[A-Za-z0-9_-]{43}$", key);

        var text = await File.ReadAllTextAsync(file);
        Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        Assert.DoesNotContain(key["jk_".Length..], text, StringComparison.Ordinal);
        var entry = JsonNode.Parse(text)!["Jobkeeper"]!["ApiKeys"]!.AsArray().Single()!;
        Assert.Equal("reporter", (string?)entry["name"]);
        Assert.Equal(AccessKeys.Hash(key), (string?)entry["hash"]);
        Assert.Equal(["read", "answer"], entry["roles"]!.AsArray().Select(r => (string)r!).ToArray());

        var second = await CliRunner.RunInAsync(dir.Path, CliTimeout, "keys", "add", "--name", "worker", "--role", "work", "--file", file);
        Assert.Equal(0, second.ExitCode);
        Assert.NotEqual(key, second.Stdout.Trim());
        var duplicate = await CliRunner.RunInAsync(dir.Path, CliTimeout, "keys", "add", "--name", "worker", "--role", "work", "--file", file);
        Assert.NotEqual(0, duplicate.ExitCode);

        var list = await CliRunner.RunInAsync(dir.Path, CliTimeout, "keys", "list", "--file", file);
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("reporter", list.Stdout, StringComparison.Ordinal);
        Assert.Contains("read, answer", list.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list.Stdout + list.Stderr, StringComparison.Ordinal);

        await using var server = await ServerProcess.StartAsync(prepareWorkingDirectory: work => File.Copy(file, Path.Combine(work, "appsettings.json")));
        using (var read = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs").WithKey(key)))
        {
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        }

        using (var create = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = Api.Json("""{"type":"t"}""") }.WithKey(key)))
        {
            Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        }

        using (var none = await server.Client.GetAsync("/api/v1/jobs"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        }
    }

    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://[::]:0")]
    [InlineData("http://*:0")]
    [InlineData("http://127.0.0.1:0;http://0.0.0.0:0")]
    public async Task Without_keys_the_server_refuses_a_public_address_and_says_why(string urls)
    {
        using var dir = new TempDirectory("jobkeeper-public");
        var result = await CliRunner.RunInAsync(dir.Path, CliTimeout, "serve", "--urls", urls, "--db", dir.File("jobs.db"));
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}\nstdout: {result.Stdout}\nstderr: {result.Stderr}");
        Assert.Contains("without API keys", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("jobkeeper keys add", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_keys_on_loopback_the_api_is_open()
    {
        await using var server = await ServerProcess.StartAsync();
        var job = await server.Client.CreateJobAsync("""{"type":"open"}""");
        using var delete = await server.Client.DeleteAsync(Api.JobPath(job.GetProperty("id").GetString()!));
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
    }

    [Fact]
    public async Task A_key_over_its_rate_limit_gets_429_with_Retry_After_and_other_keys_do_not()
    {
        var busy = "jk_test_busy_" + Guid.NewGuid().ToString("N");
        var other = "jk_test_other_" + Guid.NewGuid().ToString("N");
        var limit = new JsonObject { ["RateLimit"] = new JsonObject { ["PermitsPerSecond"] = 1, ["Burst"] = 3 } };
        await using var server = await ServerProcess.StartAsync(prepareWorkingDirectory: AccessKeys.WriteSettings(
            [("busy", busy, ["read"]), ("other", other, ["read"])], limit));

        HttpResponseMessage? limited = null;
        var allowed = 0;
        for (var i = 0; i < 30 && limited is null; i++)
        {
            var response = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs").WithKey(busy));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                allowed++;
                response.Dispose();
            }
        }

        Assert.NotNull(limited);
        using (limited)
        {
            Assert.InRange(allowed, 3, 10);
            Assert.NotNull(limited.Headers.RetryAfter?.Delta);
            Assert.InRange(limited.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 60);
            Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(await limited.Content.ReadAsStringAsync());
            Assert.Equal(429, problem.RootElement.GetProperty("status").GetInt32());
        }

        using var otherResponse = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs").WithKey(other));
        Assert.Equal(HttpStatusCode.OK, otherResponse.StatusCode);
        using var health = await server.Client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Neither_keys_nor_job_inputs_appear_in_the_server_log()
    {
        var keys = AccessKeys.NewKeyPerRole();
        var wrongKey = "jk_wrong_" + Guid.NewGuid().ToString("N");
        var secret = "s3cret-input-" + Guid.NewGuid().ToString("N");
        // Jobkeeper's own categories at the most verbose level: whatever they log is in the capture.
        var logging = new JsonObject
        {
            ["LogLevel"] = new JsonObject { ["Default"] = "Information", ["Jobkeeper"] = "Trace", ["Microsoft.AspNetCore"] = "Warning", ["Microsoft.Hosting.Lifetime"] = "Information" },
        };
        await using var server = await ServerProcess.StartAsync(prepareWorkingDirectory: AccessKeys.WriteSettings(
            keys.Select(k => ("key-" + k.Key, k.Value, new[] { k.Key })), logging: logging));
        var client = server.Client;

        using (var create = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs")
        {
            Content = Api.Json("{\"type\":\"leak\",\"id\":\"leak-1\",\"input\":{\"password\":\"" + secret + "\"}}"),
        }.WithKey(keys["submit"])))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        }

        using (var bad = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs")
        {
            Content = Api.Json("{\"type\":\"leak\",\"input\":{\"password\":\"" + secret + "\"},\"unknown\":\"" + secret + "\"}"),
        }.WithKey(keys["admin"], asHeader: true)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        foreach (var (key, expected) in new[] { (keys["read"], HttpStatusCode.OK), (wrongKey, HttpStatusCode.Unauthorized), (keys["work"], HttpStatusCode.Forbidden) })
        {
            using var get = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, "/api/v1/jobs/leak-1").WithKey(key));
            Assert.Equal(expected, get.StatusCode);
        }

        using (var stream = await client.GetAsync($"/api/v1/jobs/leak-1/stream?access_token={Uri.EscapeDataString(keys["read"])}", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        }

        using (var claim = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/v1/workers/claim")
        {
            Content = Api.Json("""{"worker_id":"w","types":["leak"]}"""),
        }.WithKey(keys["work"], asHeader: true)))
        {
            var claimed = await Api.ExpectJsonAsync(claim, HttpStatusCode.OK);
            Assert.Equal(secret, claimed.GetProperty("jobs")[0].GetProperty("input").GetProperty("password").GetString());
        }

        // A graceful stop flushes the logger; the process has exited and its output is complete.
        Assert.Equal(0, await server.TerminateAsync());
        var output = server.Output;
        // The capture holds what the requests caused (the refused keys are logged by name-free scheme messages).
        Assert.Contains("was challenged", output, StringComparison.Ordinal);
        Assert.Contains("was forbidden", output, StringComparison.Ordinal);
        foreach (var key in keys.Values.Append(wrongKey))
        {
            Assert.DoesNotContain(key, output, StringComparison.Ordinal);
            Assert.DoesNotContain(AccessKeys.Hash(key)["sha256:".Length..], output, StringComparison.Ordinal);
        }

        Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
    }
}
