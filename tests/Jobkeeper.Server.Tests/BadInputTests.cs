using System.Net;
using System.Text;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// Bad input gets a 4xx problem (application/problem+json) naming the field at fault, changes nothing,
/// and never causes a 5xx. Each test checks the responses it caused for 5xx at the end.
/// </summary>
public sealed class BadInputTests(ServerFixture fixture) : NoServerErrorsTest(fixture), IClassFixture<ServerFixture>
{
    public static TheoryData<string, string, string> BadCreateBodies => new()
    {
        { "malformed JSON", """{"type":"a",""", "body" },
        { "truncated JSON", """{"type":""", "body" },
        { "JSON array instead of object", """[{"type":"a"}]""", "body" },
        { "JSON string instead of object", "\"a job\"", "body" },
        { "empty body", "", "body" },
        { "missing type", """{"input":{}}""", "type" },
        { "empty type", """{"type":""}""", "type" },
        { "blank type", """{"type":"   "}""", "type" },
        { "type not a string", """{"type":7}""", "type" },
        { "id with spaces", """{"type":"a","id":"has spaces"}""", "id" },
        { "id of 129 characters", $$$"""{"type":"a","id":"{{{new string('x', 129)}}}"}""", "id" },
        { "empty id", """{"type":"a","id":""}""", "id" },
        { "id not a string", """{"type":"a","id":12}""", "id" },
        { "priority 1.5", """{"type":"a","priority":1.5}""", "priority" },
        { "priority \"high\"", """{"type":"a","priority":"high"}""", "priority" },
        { "priority too large", """{"type":"a","priority":3000000000}""", "priority" },
        { "label value a number", """{"type":"a","labels":{"episode_id":42}}""", "labels.episode_id" },
        { "label value null", """{"type":"a","labels":{"episode_id":null}}""", "labels.episode_id" },
        { "labels an array", """{"type":"a","labels":["x"]}""", "labels" },
        { "label key with colon", """{"type":"a","labels":{"a:b":"x"}}""", "labels" },
        { "unknown field", """{"type":"a","colour":"red"}""", "colour" },
        { "max_attempts 0", """{"type":"a","max_attempts":0}""", "max_attempts" },
        { "run_at not a timestamp", """{"type":"a","run_at":"tomorrow-ish"}""", "run_at" },
        { "duplicate member", """{"type":"a","type":"b"}""", "body" },
        { "input nested 33 levels deep", $$"""{"type":"a","input":{{Nested(33)}}}""", "input" },
        { "input nested 200 levels deep", $$"""{"type":"a","input":{{Nested(200)}}}""", "body" },
    };

    [Theory]
    [MemberData(nameof(BadCreateBodies))]
    public async Task Create_with_bad_body_is_400_naming_the_field_and_creates_nothing(string what, string body, string field)
    {
        var count = await Client.JobsCountAsync();
        using var response = await Client.PostJsonAsync(Api.Jobs, body);
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _), $"{what}: errors does not name '{field}': {problem}");
        Assert.Equal(count, await Client.JobsCountAsync());
    }

    public static TheoryData<string, string, string> BadPatchBodies => new()
    {
        { "malformed JSON", """{"status":""", "body" },
        { "array instead of object", """[{"status":"running"}]""", "body" },
        { "unknown status", """{"status":"paused"}""", "status" },
        { "status in capitals", """{"status":"RUNNING"}""", "status" },
        { "status not a string", """{"status":1}""", "status" },
        { "fraction 1.5", """{"progress":{"fraction":1.5}}""", "progress.fraction" },
        { "fraction -0.1", """{"progress":{"fraction":-0.1}}""", "progress.fraction" },
        { "fraction a string", """{"progress":{"fraction":"half"}}""", "progress.fraction" },
        { "negative current", """{"progress":{"current":-1}}""", "progress.current" },
        { "progress an array", """{"progress":[0.5]}""", "progress" },
        { "unknown progress member", """{"progress":{"percent":50}}""", "progress.percent" },
        { "label value a number", """{"labels":{"k":1}}""", "labels.k" },
        { "error without message", """{"error":{"code":"E1"}}""", "error.message" },
        { "error with empty message", """{"error":{"message":""}}""", "error.message" },
        { "unknown member", """{"stage":"x"}""", "stage" },
        // A valid change together with an invalid one: nothing of it may be applied.
        { "valid status with invalid fraction", """{"status":"running","progress":{"fraction":2}}""", "progress.fraction" },
        { "valid labels with invalid status", """{"labels":{"new":"x"},"status":"done"}""", "status" },
        { "fraction 1e999", """{"progress":{"fraction":1e999}}""", "progress.fraction" },
        { "result nested 33 levels deep", $$"""{"result":{{Nested(33)}}}""", "result" },
        { "error details nested 33 levels deep", $$$"""{"error":{"message":"m","details":{{{Nested(33)}}}}}""", "error.details" },
    };

    [Theory]
    [MemberData(nameof(BadPatchBodies))]
    public async Task Patch_with_bad_body_is_400_naming_the_field_and_changes_nothing(string what, string body, string field)
    {
        var created = await Client.CreateJobAsync("""{"type":"bad.patch","labels":{"k":"v"}}""");
        var id = created.Str("id");

        using var response = await Client.PatchJsonAsync(Api.JobPath(id), body);
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.True(problem.TryGetProperty("errors", out var errors) && errors.TryGetProperty(field, out _), $"{what}: errors does not name '{field}': {problem}");

        var after = await Client.GetJobAsync(id);
        Assert.Equal(created.ToString(), after.ToString());
        var events = await Client.GetJsonAsync(Api.JobPath(id) + "/events");
        Assert.Equal(1, events.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Patch_with_malformed_if_match_is_400_and_changes_nothing()
    {
        var created = await Client.CreateJobAsync("""{"type":"bad.ifmatch"}""");
        using var response = await Client.PatchJsonAsync(Api.JobPath(created.Str("id")), """{"status":"running"}""", ifMatch: "version one");
        await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, "If-Match");
        Assert.Equal(created.ToString(), (await Client.GetJobAsync(created.Str("id"))).ToString());
    }

    public static TheoryData<string, string> BadListQueries => new()
    {
        { "status=paused", "status" },
        { "status=running,paused", "status" },
        { "limit=0", "limit" },
        { "limit=1001", "limit" },
        { "limit=abc", "limit" },
        { "limit=-5", "limit" },
        { "limit=10&limit=20", "limit" },
        { "cursor=not-a-cursor!!", "cursor" },
        { "cursor=" + "QUJD", "cursor" }, // base64url of "ABC": decodes, but is no cursor
        { "cursor=" + "MTIzOmhhcyBzcGFjZQ", "cursor" }, // "123:has space": an id no job can have
        { "created_after=yesterday", "created_after" },
        { "created_after=2026-13-45T99:00:00Z", "created_after" },
        { "created_before=soon", "created_before" },
        { "label=no-colon", "label" },
        { "label=:value", "label" },
        { "colour=red", "colour" },
    };

    [Theory]
    [MemberData(nameof(BadListQueries))]
    public async Task List_with_bad_query_is_400_naming_the_parameter(string query, string field)
    {
        var count = await Client.JobsCountAsync();
        using var response = await Client.GetAsync($"{Api.Jobs}?{query}");
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"errors does not name '{field}': {problem}");
        Assert.Equal(count, await Client.JobsCountAsync());
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("")]
    [InlineData("7&days=8")]
    public async Task Cleanup_with_bad_days_is_400_naming_days_and_deletes_nothing(string days)
    {
        var finished = await CreateFinishedJobAsync();
        var count = await Client.JobsCountAsync();

        using var response = await Client.DeleteAsync($"{Api.Jobs}/cleanup?days={days}");
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, "days");
        Assert.True(problem.GetProperty("errors").TryGetProperty("days", out _));

        Assert.Equal(count, await Client.JobsCountAsync());
        Assert.Equal("completed", (await Client.GetJobAsync(finished)).Str("status"));
    }

    /// <summary>
    /// A retention longer than the calendar allows (days=1000000 reaches before year 1) is still client
    /// input: it must be a 400 naming days (or be clamped and delete nothing) — never a 500.
    /// </summary>
    [Theory]
    [InlineData("1000000")]
    [InlineData("2147483647")]
    public async Task Cleanup_with_huge_days_is_not_a_server_error_and_deletes_nothing(string days)
    {
        var finished = await CreateFinishedJobAsync();
        var count = await Client.JobsCountAsync();

        using var response = await Client.DeleteAsync($"{Api.Jobs}/cleanup?days={days}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode < 500, $"DELETE cleanup?days={days} -> {(int)response.StatusCode}: {body}");
        if (response.StatusCode == HttpStatusCode.OK)
        {
            using var json = JsonDocument.Parse(body);
            Assert.Equal(0, json.RootElement.GetProperty("deleted_count").GetInt32());
        }
        else
        {
            await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, "days");
        }

        Assert.Equal(count, await Client.JobsCountAsync());
        Assert.Equal("completed", (await Client.GetJobAsync(finished)).Str("status"));
    }

    [Theory]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=abc", "limit")]
    [InlineData("after=-1", "after")]
    public async Task Events_with_bad_query_is_400_naming_the_parameter(string query, string field)
    {
        var id = (await Client.CreateJobAsync("""{"type":"bad.events"}""")).Str("id");
        using var response = await Client.GetAsync($"{Api.JobPath(id)}/events?{query}");
        await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    [Fact]
    public Task Oversized_body_with_content_length_is_413_and_creates_nothing() =>
        AssertOversizedCreateRefusedAsync(new ByteArrayContent(OversizedJob()) { Headers = { ContentType = new("application/json") } });

    [Fact]
    public Task Oversized_chunked_body_is_413_and_creates_nothing() => AssertOversizedCreateRefusedAsync(new ChunkedContent(OversizedJob()));

    private async Task AssertOversizedCreateRefusedAsync(HttpContent content)
    {
        var count = await Client.JobsCountAsync();
        // Expect: 100-continue, as curl and browsers send for large bodies: the server can refuse before the
        // upload (otherwise it may close the connection while the client is still sending the megabyte).
        using var request = new HttpRequestMessage(HttpMethod.Post, Api.Jobs) { Content = content };
        request.Headers.ExpectContinue = true;
        using var response = await Client.SendAsync(request);
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("body", problem.Str("detail"), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(count, await Client.JobsCountAsync());
    }

    [Fact]
    public async Task Oversized_patch_is_413_and_changes_nothing()
    {
        var created = await Client.CreateJobAsync("""{"type":"bad.big"}""");
        var patch = Encoding.UTF8.GetBytes("{\"result\":\"" + new string('r', 1024 * 1024) + "\"}");
        using var request = new HttpRequestMessage(HttpMethod.Patch, Api.JobPath(created.Str("id")))
        {
            Content = new ByteArrayContent(patch) { Headers = { ContentType = new("application/json") } },
        };
        request.Headers.ExpectContinue = true;
        using var response = await Client.SendAsync(request);
        await Api.ExpectProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(created.ToString(), (await Client.GetJobAsync(created.Str("id"))).ToString());
    }

    [Fact]
    public async Task A_body_of_exactly_the_limit_is_accepted()
    {
        // The limit is 1 MiB: bodies larger than that are refused, a valid body of exactly 1 MiB is not.
        var prefix = "{\"type\":\"bad.at-limit\",\"input\":\"";
        var suffix = "\"}";
        var body = prefix + new string('i', (1024 * 1024) - prefix.Length - suffix.Length) + suffix;
        Assert.Equal(1024 * 1024, Encoding.UTF8.GetByteCount(body));
        var job = await Client.CreateJobAsync(body);
        Assert.Equal("bad.at-limit", job.Str("type"));
    }

    /// <summary>
    /// Free-form JSON may nest 32 levels: stored, and served by every read that holds it (a job in a list sits three
    /// levels down, and readers stop at 64). One level more is refused, so no job is ever stored that reads cannot serve.
    /// </summary>
    [Fact]
    public async Task Free_form_json_nested_32_levels_deep_is_stored_and_every_read_serves_it()
    {
        var type = $"bad.deep.{Guid.NewGuid():N}";
        var job = await Client.CreateJobAsync($$"""{"type":"{{type}}","input":{{Nested(32)}}}""");
        var id = job.Str("id");
        await Client.PatchJobAsync(id, $$$"""{"result":{{{Nested(32)}}},"error":{"message":"m","details":{{{Nested(32)}}}}}""");
        Assert.Equal(id, (await Client.GetJobAsync(id)).Str("id"));
        var listed = await Client.GetJsonAsync($"{Api.Jobs}?type={type}");
        Assert.Equal(id, listed.GetProperty("items")[0].Str("id"));
        await Client.GetJsonAsync(Api.JobPath(id) + "/events");
    }

    [Theory]
    [InlineData("in a member name", "{\"\xFF\":1,\"type\":\"a\"}")]
    [InlineData("in the type", "{\"type\":\"a\xC0\xAF\"}")]
    [InlineData("a surrogate encoded in UTF-8 inside input", "{\"type\":\"a\",\"input\":{\"t\":\"\xED\xA0\x80\"}}")]
    [InlineData("a truncated sequence at the end of a label", "{\"type\":\"a\",\"labels\":{\"k\":\"v\xE6\x97\"}}")]
    public async Task A_body_that_is_not_UTF_8_is_400_and_creates_nothing(string what, string latin1)
    {
        // Each \xNN of the text is one raw byte of the body: bytes that are not UTF-8, inside otherwise valid JSON.
        var body = Encoding.Latin1.GetBytes(latin1);
        var count = await Client.JobsCountAsync();
        using var response = await Client.PostAsync(Api.Jobs, new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } });
        var problem = await Api.ExpectProblemAsync(response, HttpStatusCode.BadRequest, "body");
        Assert.Contains("UTF-8", problem.Str("detail"), StringComparison.Ordinal);
        Assert.True(count == await Client.JobsCountAsync(), $"{what}: a job was created");
    }

    /// <summary>Arrays and objects nested <paramref name="depth"/> levels deep.</summary>
    private static string Nested(int depth) =>
        string.Concat(Enumerable.Range(0, depth).Select(i => i % 2 == 0 ? "[" : "{\"k\":")) + "1"
        + string.Concat(Enumerable.Range(0, depth).Reverse().Select(i => i % 2 == 0 ? "]" : "}"));

    private async Task<string> CreateFinishedJobAsync()
    {
        var id = (await Client.CreateJobAsync("""{"type":"bad.finished"}""")).Str("id");
        await Client.PatchJobAsync(id, """{"status":"running"}""");
        await Client.PatchJobAsync(id, """{"status":"completed"}""");
        return id;
    }

    /// <summary>A valid create request of 1 MiB + 1 byte.</summary>
    private static byte[] OversizedJob()
    {
        var prefix = "{\"type\":\"bad.oversized\",\"input\":\"";
        var suffix = "\"}";
        var body = prefix + new string('o', (1024 * 1024) + 1 - prefix.Length - suffix.Length) + suffix;
        return Encoding.UTF8.GetBytes(body);
    }

    /// <summary>Content without a length, so HttpClient sends it chunked.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] _bytes;

        public ChunkedContent(byte[] bytes)
        {
            _bytes = bytes;
            Headers.ContentType = new("application/json");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            for (var offset = 0; offset < _bytes.Length; offset += 64 * 1024)
            {
                await stream.WriteAsync(_bytes.AsMemory(offset, Math.Min(64 * 1024, _bytes.Length - offset)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
