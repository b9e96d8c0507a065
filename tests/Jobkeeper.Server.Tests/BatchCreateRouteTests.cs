using System.Net;
using System.Text.Json;
using Jobkeeper.Client;
using Jobkeeper.Contracts;
using Jobkeeper.Model;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary><c>POST /api/v1/jobs/batch</c> on the real server: each job answered on its own, in order.</summary>
public sealed class BatchCreateRouteTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task Each_job_of_a_batch_is_answered_created_duplicate_or_invalid_in_order_and_the_created_are_stored()
    {
        var type = $"e2e.batch.{Guid.NewGuid():N}";
        var taken = await Api.CreateJobAsync(Client, $$"""{"type":"{{type}}"}""");
        var fresh = $"batch-{Guid.NewGuid():N}";

        using var response = await Client.PostJsonAsync(Api.Jobs + "/batch", $$$"""
            {"jobs":[
              {"type":"{{{type}}}","input":{"n":1},"labels":{"k":"a"}},
              {"type":"{{{type}}}","id":"{{{taken.Str("id")}}}"},
              {"type":" "},
              {"type":"{{{type}}}","id":"{{{fresh}}}","priority":3},
              {"type":"{{{type}}}","id":"{{{fresh}}}"},
              {"type":"{{{type}}}","max_attempts":0}
            ]}
            """);
        var body = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);

        var items = body.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["created", "duplicate_id", "invalid", "created", "duplicate_id", "invalid"], items.Select(i => i.Str("outcome")));
        Assert.Equal(2, body.GetProperty("created").GetInt32());
        Assert.Equal("jobs[2].type", items[2].Str("field"));
        Assert.Equal("jobs[5].max_attempts", items[5].Str("field"));
        Assert.Equal(taken.Str("id"), items[1].Str("id"));
        Assert.Equal(fresh, items[4].Str("id"));

        var first = items[0].GetProperty("job");
        var stored = await Api.GetJobAsync(Client, first.Str("id"));
        Assert.Equal("a", stored.GetProperty("labels").Str("k"));
        Assert.Equal(1, stored.GetProperty("input").GetProperty("n").GetInt32());
        Assert.Equal(3, (await Api.GetJobAsync(Client, fresh)).GetProperty("priority").GetInt32());
    }

    [Theory]
    [InlineData("""{"jobs":[]}""", "jobs")]
    [InlineData("""{"jobs":[{"type":"a","colour":"red"}]}""", "jobs[0].colour")]
    [InlineData("""{"jobs":[{"type":"a","priority":"high"}]}""", "jobs[0].priority")]
    [InlineData("""{"jobs":[{"type":"a","input":{"x":"\ud800"}}]}""", "jobs[0].input")]
    [InlineData("""{"job":[]}""", "job")]
    public async Task A_body_that_is_not_a_batch_is_400_naming_the_field(string body, string field)
    {
        using var response = await Client.PostJsonAsync(Api.Jobs + "/batch", body);
        await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public async Task The_client_creates_a_batch_and_reads_each_answer()
    {
        using var http = new HttpClient { BaseAddress = Client.BaseAddress };
        var client = new JobkeeperClient(http);
        var type = $"e2e.batch.client.{Guid.NewGuid():N}";

        var answer = await client.CreateManyAsync(
            [.. Enumerable.Range(0, 300).Select(i => new NewJob { Type = type, Input = JsonSerializer.SerializeToElement(i) })]);

        Assert.Equal(300, answer.Created);
        Assert.All(answer.Items, i => Assert.Equal(BatchCreateItem.CreatedOutcome, i.Outcome));
        var listed = new List<Job>();
        await foreach (var job in client.ListAsync(type: type, pageSize: 100))
        {
            listed.Add(job);
        }

        Assert.Equal(answer.Items.Select(i => i.Job!.Id).Order(), listed.Select(j => j.Id).Order());
    }
}
