using System.Net;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Bad input to the worker routes gets a 400 problem naming the field at fault, claims nothing, changes
/// nothing, and never causes a 5xx. <c>{TYPE}</c> and <c>{TOKEN}</c> in the bodies stand for the test's
/// job type and the current lease token.
/// </summary>
public sealed class WorkerBadInputTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    public static TheoryData<string, string, string> BadClaimBodies => new()
    {
        { "types missing", """{"worker_id":"w"}""", "types" },
        { "types empty", """{"worker_id":"w","types":[]}""", "types" },
        { "types null", """{"worker_id":"w","types":null}""", "types" },
        { "types a string", """{"worker_id":"w","types":"{TYPE}"}""", "types" },
        { "a type not a string", """{"worker_id":"w","types":["{TYPE}",7]}""", "types[1]" },
        { "worker_id missing", """{"types":["{TYPE}"]}""", "worker_id" },
        { "worker_id empty", """{"worker_id":"","types":["{TYPE}"]}""", "worker_id" },
        { "worker_id blank", """{"worker_id":"   ","types":["{TYPE}"]}""", "worker_id" },
        { "worker_id a number", """{"worker_id":7,"types":["{TYPE}"]}""", "worker_id" },
        { "max 0", """{"worker_id":"w","types":["{TYPE}"],"max":0}""", "max" },
        { "max 1001", """{"worker_id":"w","types":["{TYPE}"],"max":1001}""", "max" },
        { "max negative", """{"worker_id":"w","types":["{TYPE}"],"max":-1}""", "max" },
        { "max a string", """{"worker_id":"w","types":["{TYPE}"],"max":"5"}""", "max" },
        { "max a fraction", """{"worker_id":"w","types":["{TYPE}"],"max":1.5}""", "max" },
        { "lease_seconds 0", """{"worker_id":"w","types":["{TYPE}"],"lease_seconds":0}""", "lease_seconds" },
        { "lease_seconds 3601", """{"worker_id":"w","types":["{TYPE}"],"lease_seconds":3601}""", "lease_seconds" },
        { "lease_seconds a string", """{"worker_id":"w","types":["{TYPE}"],"lease_seconds":"30"}""", "lease_seconds" },
        { "lease_seconds a fraction", """{"worker_id":"w","types":["{TYPE}"],"lease_seconds":1.5}""", "lease_seconds" },
        { "wait_seconds 31", """{"worker_id":"w","types":["{TYPE}"],"wait_seconds":31}""", "wait_seconds" },
        { "wait_seconds negative", """{"worker_id":"w","types":["{TYPE}"],"wait_seconds":-1}""", "wait_seconds" },
        { "wait_seconds a string", """{"worker_id":"w","types":["{TYPE}"],"wait_seconds":"1"}""", "wait_seconds" },
        { "unknown member", """{"worker_id":"w","types":["{TYPE}"],"colour":"red"}""", "colour" },
        { "JSON array", """[{"worker_id":"w","types":["{TYPE}"]}]""", "body" },
        { "malformed JSON", """{"worker_id":"w","types":["{TYPE}"]""", "body" },
        { "empty body", "", "body" },
        { "duplicate member", """{"worker_id":"w","types":["{TYPE}"],"max":1,"max":2}""", "body" },
    };

    [Theory]
    [MemberData(nameof(BadClaimBodies))]
    public async Task Claim_with_bad_body_is_400_naming_the_field_and_claims_nothing(string what, string body, string field)
    {
        var type = $"badclaim.{Guid.NewGuid():N}";
        var queued = await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""");

        using var response = await Client.PostJsonAsync(WorkerApi.ClaimPath, body.Replace("{TYPE}", type, StringComparison.Ordinal));
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _), $"{what}: errors does not name '{field}': {problem}");
        Assert.Equal("https://jobkeeper.dev/problems/invalid-request", problem.Str("type"));

        Assert.Equal(queued.ToString(), (await Client.GetJobAsync(queued.Str("id"))).ToString());
    }

    public static TheoryData<string, string, string, string> BadLeaseBodies => new()
    {
        { "heartbeat", "lease_token missing", """{}""", "lease_token" },
        { "heartbeat", "lease_token a number", """{"lease_token":5}""", "lease_token" },
        { "heartbeat", "lease_token null", """{"lease_token":null}""", "lease_token" },
        { "heartbeat", "lease_seconds 0", """{"lease_token":"{TOKEN}","lease_seconds":0}""", "lease_seconds" },
        { "heartbeat", "lease_seconds 3601", """{"lease_token":"{TOKEN}","lease_seconds":3601}""", "lease_seconds" },
        { "heartbeat", "lease_seconds a string", """{"lease_token":"{TOKEN}","lease_seconds":"60"}""", "lease_seconds" },
        { "heartbeat", "unknown member", """{"lease_token":"{TOKEN}","cancel":true}""", "cancel" },
        { "heartbeat", "JSON array", """["{TOKEN}"]""", "body" },
        { "heartbeat", "empty body", "", "body" },
        { "progress", "lease_token missing", """{"fraction":0.5}""", "lease_token" },
        { "progress", "fraction a string", """{"lease_token":"{TOKEN}","fraction":"half"}""", "fraction" },
        { "progress", "stage a number", """{"lease_token":"{TOKEN}","stage":3}""", "stage" },
        { "progress", "current a fraction", """{"lease_token":"{TOKEN}","current":1.5}""", "current" },
        { "progress", "unknown member", """{"lease_token":"{TOKEN}","percent":50}""", "percent" },
        { "progress", "nested progress object", """{"lease_token":"{TOKEN}","progress":{"fraction":0.5}}""", "progress" },
        { "progress", "lease_seconds 0", """{"lease_token":"{TOKEN}","lease_seconds":0,"fraction":0.5}""", "lease_seconds" },
        { "complete", "lease_token missing", """{"result":{"ok":true}}""", "lease_token" },
        { "complete", "unknown member", """{"lease_token":"{TOKEN}","results":{"ok":true}}""", "results" },
        { "complete", "malformed JSON", """{"lease_token":"{TOKEN}",""", "body" },
        { "fail", "lease_token missing", """{"error":"boom"}""", "lease_token" },
        { "fail", "error missing", """{"lease_token":"{TOKEN}"}""", "error" },
        { "fail", "error null", """{"lease_token":"{TOKEN}","error":null}""", "error" },
        { "fail", "error a number", """{"lease_token":"{TOKEN}","error":5}""", "error" },
        { "fail", "error without message", """{"lease_token":"{TOKEN}","error":{"code":"E1"}}""", "error.message" },
        { "fail", "error with empty message", """{"lease_token":"{TOKEN}","error":{"message":""}}""", "error.message" },
        { "fail", "error an empty string", """{"lease_token":"{TOKEN}","error":""}""", "error.message" },
        { "fail", "unknown error member", """{"lease_token":"{TOKEN}","error":{"message":"x","severity":1}}""", "error.severity" },
        { "fail", "retry a string", """{"lease_token":"{TOKEN}","error":"boom","retry":"yes"}""", "retry" },
        { "fail", "unknown member", """{"lease_token":"{TOKEN}","error":"boom","backoff":5}""", "backoff" },
        { "release", "lease_token missing", """{}""", "lease_token" },
        { "release", "unknown member", """{"lease_token":"{TOKEN}","reason":"shutdown"}""", "reason" },
    };

    [Theory]
    [MemberData(nameof(BadLeaseBodies))]
    public async Task Lease_call_with_bad_body_is_400_naming_the_field_and_changes_nothing(string action, string what, string body, string field)
    {
        var type = $"badlease.{Guid.NewGuid():N}";
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync("bad-input-worker", type);
        var held = await Client.GetJobAsync(id);

        using var response = await Client.PostActionAsync(id, action, body.Replace("{TOKEN}", item.Token(), StringComparison.Ordinal));
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _),
            $"{action}, {what}: errors does not name '{field}': {problem}");

        Assert.Equal(held.ToString(), (await Client.GetJobAsync(id)).ToString());
        Assert.Equal(2, (await Client.EventsAsync(id)).Count); // created, claimed
    }

    private static readonly (string Body, string Field)[] OutOfRangeProgressCases =
    [
        ("""{"lease_token":"{TOKEN}","fraction":1.5}""", "fraction"),
        ("""{"lease_token":"{TOKEN}","fraction":-0.1}""", "fraction"),
        ("""{"lease_token":"{TOKEN}","current":-1}""", "current"),
        ("""{"lease_token":"{TOKEN}","total":-1}""", "total"),
    ];

    public static TheoryData<string, string> OutOfRangeProgress
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var (body, member) in OutOfRangeProgressCases)
            {
                data.Add(body, member);
            }

            return data;
        }
    }

    /// <summary>
    /// The progress route takes its members at the top level of the body, and a wrongly typed member is
    /// named as such (<c>fraction</c>); an out-of-range value must be named the same way.
    /// </summary>
    [Theory]
    [MemberData(nameof(OutOfRangeProgress))]
    public async Task Progress_with_an_out_of_range_member_is_400_naming_the_member_as_sent(string body, string field)
    {
        var type = $"badprogress.{Guid.NewGuid():N}";
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync("bad-input-worker", type);
        var held = await Client.GetJobAsync(id);

        using var response = await Client.PostActionAsync(id, "progress", body.Replace("{TOKEN}", item.Token(), StringComparison.Ordinal));
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _), $"errors does not name '{field}': {problem}");
        Assert.Equal(held.ToString(), (await Client.GetJobAsync(id)).ToString());
    }

    [Fact]
    public async Task Progress_with_an_out_of_range_member_is_400_and_changes_nothing()
    {
        // Every out-of-range member is refused in one go against the same claimed job, and none of them changes it.
        var type = $"badprogress.{Guid.NewGuid():N}";
        var id = (await Client.CreateJobAsync($$$"""{"type":"{{{type}}}"}""")).Str("id");
        var item = await Client.ClaimOneAsync("bad-input-worker", type);
        var held = await Client.GetJobAsync(id);
        foreach (var (body, member) in OutOfRangeProgressCases)
        {
            using var response = await Client.PostActionAsync(id, "progress", body.Replace("{TOKEN}", item.Token(), StringComparison.Ordinal));
            await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, member);
        }

        Assert.Equal(held.ToString(), (await Client.GetJobAsync(id)).ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Claim_with_an_empty_or_blank_type_is_400_naming_it(string type)
    {
        using var response = await Client.PostJsonAsync(WorkerApi.ClaimPath, $$"""{"worker_id":"w","types":["{{type}}"]}""");
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, "types[0]");
        Assert.True(problem.GetProperty("errors").TryGetProperty("types[0]", out _), $"errors does not name 'types[0]': {problem}");
    }
}
