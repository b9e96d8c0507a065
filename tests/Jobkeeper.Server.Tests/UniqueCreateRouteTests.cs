using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Unique keys, <c>Idempotency-Key</c> and debounce on <c>POST /api/v1/jobs</c> of the real server (SQLite), and across two
/// instances on one PostgreSQL database: 64 concurrent creates with one key make one job, the others answer 200 with it.
/// </summary>
public sealed class UniqueCreateRouteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task A_duplicate_create_answers_200_with_the_existing_job_and_says_so_in_a_header_and_the_body()
    {
        var key = $"report:{Guid.NewGuid():N}";
        using var first = await Client.PostJsonAsync(Api.Jobs, $$$"""{"type":"e2e.unique","unique_key":"{{{key}}}","input":{"n":1}}""");
        var created = await Api.ExpectJsonAsync(first, HttpStatusCode.Created);
        Assert.False(first.Headers.Contains("Jobkeeper-Existing"));
        Assert.Equal(JsonValueKind.Null, created.GetProperty("existing").ValueKind);
        Assert.Equal(key, created.Str("unique_key"));

        using var second = await Client.PostJsonAsync(Api.Jobs, $$$"""{"type":"e2e.unique","unique_key":"{{{key}}}","input":{"n":2}}""");
        var existing = await Api.ExpectJsonAsync(second, HttpStatusCode.OK);
        Assert.Equal("true", Assert.Single(second.Headers.GetValues("Jobkeeper-Existing")));
        Assert.True(existing.GetProperty("existing").GetBoolean());
        Assert.Equal(created.Str("id"), existing.Str("id"));
        Assert.Equal(1, existing.GetProperty("input").GetProperty("n").GetInt32());
        Assert.Equal("/api/v1/jobs/" + created.Str("id"), second.Headers.Location?.ToString());

        // Finished, it no longer blocks by default; a window of statuses that names it does.
        await Api.PatchJobAsync(Client, created.Str("id"), """{"status":"cancelled"}""");
        using var third = await Client.PostJsonAsync(Api.Jobs, $$"""{"type":"e2e.unique","unique_key":"{{key}}","unique_statuses":["cancelled"],"unique_window_seconds":60}""");
        Assert.Equal(created.Str("id"), (await Api.ExpectJsonAsync(third, HttpStatusCode.OK)).Str("id"));
        using var fourth = await Client.PostJsonAsync(Api.Jobs, $$"""{"type":"e2e.unique","unique_key":"{{key}}"}""");
        Assert.NotEqual(created.Str("id"), (await Api.ExpectJsonAsync(fourth, HttpStatusCode.Created)).Str("id"));
    }

    [Fact]
    public async Task An_idempotency_key_answers_with_the_job_it_made_whatever_its_status()
    {
        var key = Guid.NewGuid().ToString();
        var created = await PostWithKeyAsync(key, """{"type":"e2e.idempotent"}""", HttpStatusCode.Created);
        await Api.PatchJobAsync(Client, created.Str("id"), """{"status":"cancelled"}""");

        var again = await PostWithKeyAsync(key, """{"type":"e2e.idempotent"}""", HttpStatusCode.OK);
        Assert.Equal((created.Str("id"), "cancelled"), (again.Str("id"), again.Str("status")));
        Assert.Equal(key, again.Str("unique_key"));

        using var both = new HttpRequestMessage(HttpMethod.Post, Api.Jobs) { Content = Api.Json($$"""{"type":"e2e.idempotent","unique_key":"x"}""") };
        both.Headers.Add("Idempotency-Key", key);
        using var refused = await Client.SendAsync(both);
        await Api.ExpectProblemAsync(refused, HttpStatusCode.BadRequest, "Idempotency-Key");
    }

    [Fact]
    public async Task Sixty_four_concurrent_creates_with_one_idempotency_key_make_one_job()
    {
        var key = Guid.NewGuid().ToString();
        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Api.Jobs) { Content = Api.Json($$$"""{"type":"e2e.idempotent.many","input":{"n":{{{i}}}}}""") };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await Client.SendAsync(request);
            return (response.StatusCode, Id: (await Api.ExpectJsonAsync(response, response.StatusCode)).Str("id"));
        })));

        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Created);
        Assert.Equal(63, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        Assert.Single(answers.Select(a => a.Id).Distinct());
    }

    [Fact]
    public async Task A_burst_of_debounced_creates_leaves_one_queued_job_with_the_last_input_and_a_later_run_at()
    {
        var key = $"render:{Guid.NewGuid():N}";
        JsonElement last = default;
        for (var i = 0; i < 5; i++)
        {
            using var response = await Client.PostJsonAsync(Api.Jobs, $$$"""{"type":"e2e.debounce","unique_key":"{{{key}}}","debounce_seconds":600,"input":{"n":{{{i}}}}}""");
            last = await Api.ExpectJsonAsync(response, i == 0 ? HttpStatusCode.Created : HttpStatusCode.OK);
        }

        var job = await Api.GetJobAsync(Client, last.Str("id"));
        Assert.Equal(("queued", 4, 5L), (job.Str("status"), job.GetProperty("input").GetProperty("n").GetInt32(), job.Version()));
        Assert.True(job.GetProperty("run_at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(9));
        var events = await Client.GetJsonAsync(Api.JobPath(job.Str("id")) + "/events");
        Assert.Equal(["created", "debounced", "debounced", "debounced", "debounced"], events.GetProperty("items").EnumerateArray().Select(e => e.Str("type")));
    }

    [Theory]
    [InlineData("""{"type":"a","unique_key":"k","unique_window_seconds":-1}""", "unique_window_seconds")]
    [InlineData("""{"type":"a","unique_window_seconds":60}""", "unique_window_seconds")]
    [InlineData("""{"type":"a","debounce_seconds":5}""", "debounce_seconds")]
    [InlineData("""{"type":"a","unique_key":"k","debounce_seconds":0}""", "debounce_seconds")]
    [InlineData("""{"type":"a","unique_key":"k","unique_statuses":[]}""", "unique_statuses")]
    [InlineData("""{"type":"a","unique_key":"k","unique_statuses":["done"]}""", "unique_statuses[0]")]
    [InlineData("""{"type":"a","unique_key":"k","debounce_seconds":5,"unique_window_seconds":5}""", "unique_window_seconds")]
    [InlineData("""{"type":"a","unique_key":""}""", "unique_key")]
    public async Task Bad_uniqueness_is_400_naming_the_field_and_creates_nothing(string body, string field)
    {
        var before = await Client.JobsCountAsync();
        using var response = await Client.PostJsonAsync(Api.Jobs, body);
        await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Equal(before, await Client.JobsCountAsync());
    }

    private async Task<JsonElement> PostWithKeyAsync(string key, string body, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Api.Jobs) { Content = Api.Json(body) };
        request.Headers.Add("Idempotency-Key", key);
        using var response = await Client.SendAsync(request);
        return await Api.ExpectJsonAsync(response, expected);
    }
}

/// <summary>Two real server processes on one PostgreSQL database: a unique key and a debounce hold across instances.</summary>
public sealed class UniqueCreateClusterTests
{
    [Fact]
    public async Task Sixty_four_concurrent_creates_with_one_key_through_two_instances_make_one_job_and_debounces_fold_into_one()
    {
        await using var cluster = await PostgresCluster.StartAsync(2);
        var key = $"nightly:{Guid.NewGuid():N}";
        var answers = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            using var response = await cluster[i % 2].Client.PostJsonAsync(Api.Jobs, $$"""{"type":"e2e.unique.cluster","unique_key":"{{key}}"}""");
            return (response.StatusCode, Id: (await Api.ExpectJsonAsync(response, response.StatusCode)).Str("id"));
        })));
        Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Created);
        Assert.Equal(63, answers.Count(a => a.StatusCode == HttpStatusCode.OK));
        Assert.Single(answers.Select(a => a.Id).Distinct());

        var debounceKey = $"render:{Guid.NewGuid():N}";
        var debounced = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            using var response = await cluster[i % 2].Client.PostJsonAsync(Api.Jobs,
                $$$"""{"type":"e2e.debounce.cluster","unique_key":"{{{debounceKey}}}","debounce_seconds":600,"input":{"n":{{{i}}}}}""");
            Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
            var job = await Api.ExpectJsonAsync(response, response.StatusCode);
            return (response.StatusCode, Id: job.Str("id"), Version: job.Version(), N: job.GetProperty("input").GetProperty("n").GetInt32());
        })));
        Assert.Single(debounced, a => a.StatusCode == HttpStatusCode.Created);
        Assert.Single(debounced.Select(a => a.Id).Distinct());
        var stored = await cluster[1].Client.GetJobAsync(debounced[0].Id);
        Assert.Equal(64, stored.Version());
        // The stored input is the one of the create that committed last.
        Assert.Equal(debounced.MaxBy(a => a.Version).N, stored.GetProperty("input").GetProperty("n").GetInt32());
    }
}
