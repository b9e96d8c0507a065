using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Named queues over HTTP: a job is created in a queue (or <c>default</c>), shows it, is listed by it, and workers claim by
/// queue, by type, or both; bad names are 400s naming the field. Each test uses queues and types of its own.
/// </summary>
public sealed class QueueRouteTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    private static string Unique(string what) => $"{what}.{Guid.NewGuid():N}";

    [Fact]
    public async Task A_job_is_created_in_its_queue_shown_with_it_and_listed_by_it()
    {
        var queue = Unique("renders");
        var type = Unique("queue.show");
        var inQueue = await Client.CreateJobAsync($$"""{"type":"{{type}}","queue":"{{queue}}"}""");
        var plain = await Client.CreateJobAsync($$"""{"type":"{{type}}"}""");

        Assert.Equal(queue, inQueue.Str("queue"));
        Assert.Equal("default", plain.Str("queue"));
        Assert.Equal(queue, (await Client.GetJobAsync(inQueue.Str("id"))).Str("queue"));
        var listed = await Client.GetJsonAsync($"{Api.Jobs}?queue={queue}");
        Assert.Equal([inQueue.Str("id")], listed.GetProperty("items").EnumerateArray().Select(j => j.Str("id")));
    }

    [Fact]
    public async Task Workers_claim_by_queue_by_type_or_both_and_the_work_item_names_the_queue()
    {
        var renders = Unique("renders");
        var uploads = Unique("uploads");
        var a = Unique("queue.a");
        var b = Unique("queue.b");
        var aInRenders = (await Client.CreateJobAsync($$"""{"type":"{{a}}","queue":"{{renders}}","priority":1}""")).Str("id");
        var bInRenders = (await Client.CreateJobAsync($$"""{"type":"{{b}}","queue":"{{renders}}"}""")).Str("id");
        var aInUploads = (await Client.CreateJobAsync($$"""{"type":"{{a}}","queue":"{{uploads}}"}""")).Str("id");

        var byBoth = await Client.ClaimAsync($$"""{"worker_id":"w-both","types":["{{a}}"],"queues":["{{uploads}}"],"max":5}""");
        Assert.Equal([aInUploads], byBoth.Select(j => j.Str("id")));
        Assert.Equal(uploads, byBoth[0].Str("queue"));

        var byQueue = await Client.ClaimAsync($$"""{"worker_id":"w-queue","queues":["{{renders}}"],"max":5}""");
        Assert.Equal([aInRenders, bInRenders], byQueue.Select(j => j.Str("id")));
        Assert.All(byQueue, j => Assert.Equal(renders, j.Str("queue")));
        Assert.Empty(await Client.ClaimAsync($$"""{"worker_id":"w-type","types":["{{a}}","{{b}}"],"max":5}"""));
    }

    [Fact]
    public async Task A_long_poll_by_queue_alone_returns_the_job_queued_in_it()
    {
        var queue = Unique("waiting");
        var claim = Client.ClaimAsync($$"""{"worker_id":"w-wait","queues":["{{queue}}"],"wait_seconds":20}""");
        var id = (await Client.CreateJobAsync($$"""{"type":"{{Unique("queue.wait")}}","queue":"{{queue}}"}""")).Str("id");

        var claimed = await claim.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([id], claimed.Select(j => j.Str("id")));
    }

    [Theory]
    [InlineData("POST", "/api/v1/jobs", """{"type":"t","queue":"no spaces"}""", "queue")]
    [InlineData("POST", "/api/v1/jobs", """{"type":"t","queue":""}""", "queue")]
    [InlineData("POST", "/api/v1/workers/claim", """{"worker_id":"w","queues":["bad/name"]}""", "queues[0]")]
    [InlineData("POST", "/api/v1/workers/claim", """{"worker_id":"w"}""", "types")]
    [InlineData("GET", "/api/v1/jobs?queue=bad%20name", null, "queue")]
    public async Task A_bad_queue_name_or_a_claim_without_types_or_queues_is_400_naming_the_field(string method, string path, string? body, string field)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = Api.Json(body);
        }

        using var response = await Client.SendAsync(request);
        await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
    }
}
