using System.Net;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// JSON text may spell a lone UTF-16 surrogate as an escape (<c>"\ud800"</c>). It is syntactically valid
/// JSON but no string: it must be refused as bad input (400, nothing stored) wherever it appears — in a
/// field the API reads, in a property name, or deep inside free-form <c>input</c>, <c>result</c> or
/// <c>error.details</c> — and it must never leave a job behind that cannot be served. These tests have their
/// own server because a job stored with such a value breaks every read that includes it; each case uses
/// its own job type so that a failure is reported by the case that caused it.
/// </summary>
public sealed class InvalidUnicodeTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    public static TheoryData<string, string, string> BadCreateBodies => new()
    {
        { "lone surrogate in type", """{"type":"\ud800"}""", "type" },
        { "lone surrogate in a label value", """{"type":"u","labels":{"k":"\ud800"}}""", "labels.k" },
        { "lone surrogate in a label key", """{"type":"u","labels":{"\ud800":"v"}}""", "labels" },
        { "lone surrogate in an unknown member name", """{"type":"u","\ud800":1}""", "body" },
        { "lone surrogate in a string inside input", """{"type":"u","input":{"text":"abc\ud800"}}""", "input" },
        { "lone low surrogate inside an input array", """{"type":"u","input":["ok","\udc00"]}""", "input" },
        { "lone surrogate in a member name inside input", """{"type":"u","input":{"\ud800":"v"}}""", "input" },
    };

    [Theory]
    [MemberData(nameof(BadCreateBodies))]
    public async Task Create_with_a_lone_surrogate_is_400_and_stores_nothing(string what, string body, string field)
    {
        var type = "unicode.create." + Guid.NewGuid().ToString("N");
        body = body.Replace("\"type\":\"u\"", $"\"type\":\"{type}\"", StringComparison.Ordinal);
        var count = await Client.JobsCountAsync();
        using var response = await Client.PostJsonAsync(Api.Jobs, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: POST -> {(int)response.StatusCode}: {text}");
        await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, FieldOrBody(text, field));
        Assert.Equal(count, await Client.JobsCountAsync());
        await AssertListableAsync(type);
    }

    public static TheoryData<string, string, string> BadPatchBodies => new()
    {
        { "lone surrogate in progress.message", """{"progress":{"message":"\udc00"}}""", "progress.message" },
        { "lone surrogate in a progress member name", """{"progress":{"\udc00":1}}""", "progress" },
        { "lone surrogate in a label key to remove", """{"labels":{"\udc00":null}}""", "labels" },
        { "lone surrogate inside result", """{"result":{"x":"\udc00"}}""", "result" },
        { "lone surrogate inside error.details", """{"error":{"message":"m","details":{"x":"\ud800"}}}""", "error.details" },
    };

    [Theory]
    [MemberData(nameof(BadPatchBodies))]
    public async Task Patch_with_a_lone_surrogate_is_400_and_changes_nothing(string what, string body, string field)
    {
        var type = "unicode.patch." + Guid.NewGuid().ToString("N");
        var created = await Client.CreateJobAsync($$$"""{"type":"{{{type}}}","labels":{"k":"v"}}""");
        var id = created.Str("id");

        using var response = await Client.PatchJsonAsync(Api.JobPath(id), body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: PATCH -> {(int)response.StatusCode}: {text}");
        await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, FieldOrBody(text, field));

        using var get = await Client.GetAsync(Api.JobPath(id));
        var stored = await Api.ExpectJsonAsync(get, HttpStatusCode.OK);
        Assert.Equal(created.ToString(), stored.ToString());
        await AssertListableAsync(type);
    }

    /// <summary>
    /// Whatever a create with a lone surrogate in <c>input</c> answers, it must not leave a job behind that
    /// makes GET and every listing that includes it fail.
    /// </summary>
    [Fact]
    public async Task A_lone_surrogate_in_input_never_leaves_a_job_that_breaks_reads()
    {
        var type = "unicode.poison." + Guid.NewGuid().ToString("N");
        using (await Client.PostJsonAsync(Api.Jobs, $$$"""{"type":"{{{type}}}","id":"poison-{{{Guid.NewGuid():N}}}","input":{"text":"\ud800"}}"""))
        {
        }

        await AssertListableAsync(type);
        using var all = await Client.GetAsync($"{Api.Jobs}?limit=1000");
        Assert.True(all.StatusCode == HttpStatusCode.OK, $"GET {Api.Jobs} -> {(int)all.StatusCode}: {await all.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task A_valid_surrogate_pair_is_stored_and_served_unchanged()
    {
        var job = await Client.CreateJobAsync("""{"type":"unicode.ok","labels":{"emoji":"\ud83c\udfb5"},"input":{"title":"\ud83c\udfb5 song","\u00e9t\u00e9":true}}""");
        Assert.Equal("\U0001F3B5", job.GetProperty("labels").Str("emoji"));
        var stored = await Client.GetJobAsync(job.Str("id"));
        Assert.Equal("\U0001F3B5 song", stored.GetProperty("input").Str("title"));
        Assert.True(stored.GetProperty("input").GetProperty("été").GetBoolean());
    }

    /// <summary>A listing serializes every job on the page: one unservable job would break it for everyone.</summary>
    private async Task AssertListableAsync(string type)
    {
        using var list = await Client.GetAsync($"{Api.Jobs}?type={type}");
        Assert.True(list.StatusCode == HttpStatusCode.OK, $"GET {Api.Jobs}?type={type} -> {(int)list.StatusCode}: {await list.Content.ReadAsStringAsync()}");
    }

    /// <summary>Where the invalid escape is in a property name the parser may only be able to say "body".</summary>
    private static string FieldOrBody(string problem, string field) =>
        problem.Contains($"\"{field}", StringComparison.Ordinal) ? field : "body";
}
