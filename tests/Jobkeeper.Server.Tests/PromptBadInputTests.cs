using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Bad answers to an open prompt: each gets 400 naming the field and changes nothing, so the prompt is
/// still open and a good answer is still taken. All cases share one waiting job.
/// </summary>
public sealed class PromptBadInputTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    public static TheoryData<string, string> BadAnswers => new()
    {
        { """{}""", "answer" },
        { """{"answer":null}""", "answer" },
        { """{"confidence":0.5}""", "answer" },
        { """{"answer":"yes","confidence":1.5}""", "confidence" },
        { """{"answer":"yes","confidence":-0.1}""", "confidence" },
        { """{"answer":"yes","confidence":"high"}""", "confidence" },
        { """{"answer":"yes","confidence":true}""", "confidence" },
        { """{"answer":"yes","confidence":[0.5]}""", "confidence" },
        { """{"answer":"yes","colour":"red"}""", "colour" },
        { """{"answer":"yes","Answer":"no"}""", "Answer" },
        { """{"answer":"yes","answered_by":42}""", "answered_by" },
        { """{"answer":"yes","answered_by":{"name":"alice"}}""", "answered_by" },
        { """{"answer":"yes","reason":false}""", "reason" },
        { """{"answer":"yes","key":7}""", "key" },
        { """{"answer":"yes","answered_by":"{{LONG}}"}""", "answered_by" },
    };

    [Theory]
    [MemberData(nameof(BadAnswers))]
    public async Task A_bad_answer_is_400_naming_the_field_and_changes_nothing(string body, string field)
    {
        var id = await WaitingJobAsync();
        var before = await Client.GetJobAsync(id);
        body = body.Replace("{{LONG}}", new string('x', 201), StringComparison.Ordinal);

        using (var response = await Client.PostJsonAsync(Api.JobPath(id) + "/prompt/response", body))
        {
            var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
            Assert.Equal("https://jobkeeper.dev/problems/invalid-request", problem.Str("type"));
        }

        var after = await Client.GetJobAsync(id);
        Assert.Equal(before.ToString(), after.ToString());
        Assert.Equal("waiting", after.Str("status"));
        Assert.DoesNotContain(await Client.EventsAsync(id), e => e.Str("type") == "prompt_answered");
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[\"yes\"]")]
    [InlineData("\"yes\"")]
    [InlineData("{\"answer\":\"yes\"")]
    public async Task A_body_that_is_not_a_json_object_is_400_and_changes_nothing(string body)
    {
        var id = await WaitingJobAsync();
        var before = await Client.GetJobAsync(id);
        using (var response = await Client.PostJsonAsync(Api.JobPath(id) + "/prompt/response", body))
        {
            await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest);
        }

        Assert.Equal(before.ToString(), (await Client.GetJobAsync(id)).ToString());
    }

    [Fact]
    public async Task After_bad_answers_a_good_one_is_still_taken_with_the_edges_of_confidence()
    {
        foreach (var confidence in new[] { "0", "1", "0.0", "1.0" })
        {
            var id = await WaitingJobAsync();
            using var response = await Client.PostJsonAsync(Api.JobPath(id) + "/prompt/response", $$"""{"answer":"no","confidence":{{confidence}}}""");
            var job = await Api.ExpectJsonAsync(response, HttpStatusCode.OK);
            Assert.Equal("queued", job.Str("status"));
            var prompt = job.GetProperty("prompts")[0];
            Assert.Equal(double.Parse(confidence, System.Globalization.CultureInfo.InvariantCulture), prompt.GetProperty("confidence").GetDouble());
            Assert.Equal("app", prompt.Str("answered_by"));
        }
    }

    [Fact]
    public async Task A_bad_checkpoint_is_400_and_a_stale_token_is_lease_lost()
    {
        var type = $"prompt.badcp.{Guid.NewGuid():N}";
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync("w-badcp", type);
        var before = await Client.GetJobAsync(id);
        foreach (var (body, field) in new[]
                 {
                     ("""{"state":{}}""", "lease_token"),
                     ("""{"lease_token":7,"state":{}}""", "lease_token"),
                     ($$"""{"lease_token":"{{item.Token()}}","state":{},"extra":1}""", "extra"),
                 })
        {
            using var response = await Client.PostActionAsync(id, "checkpoint", body);
            await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        }

        using (var response = await Client.PostActionAsync(id, "checkpoint", """{"lease_token":"stale","state":{"a":1}}"""))
        {
            await WorkerApi.ExpectLeaseLostAsync(response);
        }

        Assert.Equal(before.Version(), (await Client.GetJobAsync(id)).Version());
        Assert.Equal(JsonValueKind.Null, (await Client.GetJobAsync(id)).GetProperty("checkpoint").ValueKind);
    }

    private async Task<string> WaitingJobAsync()
    {
        var type = $"prompt.bad.{Guid.NewGuid():N}";
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync("w-bad", type);
        var asked = await Client.ActionAsync(id, "prompt", WorkerApi.LeaseBody(item.Token(), ""","key":"ok","question":"OK?","options":["yes","no"]"""));
        Assert.True(asked.GetProperty("waiting").GetBoolean(), $"{asked}");
        return id;
    }
}
