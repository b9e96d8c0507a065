using System.Text;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>
/// The answers at the edge of HTTP, seen from a raw keep-alive connection: long ids reach the API and get problem
/// details; a body over the limit gets 413 with <c>Connection: close</c>, and the connection closes; and the few
/// requests Kestrel answers by itself (docs/api.md, "Answers from the HTTP server") get what the docs say.
/// </summary>
public sealed class TransportAnswerTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(10);
    private static readonly byte[] TwoMegabytes = Encoding.UTF8.GetBytes($$"""{"type":"t","input":"{{new string('x', 2 * 1024 * 1024)}}"}""");

    private Uri BaseAddress => fixture.Server.BaseAddress;

    [Theory]
    [InlineData("GET", "")]
    [InlineData("PATCH", "")]
    [InlineData("POST", "/cancel")]
    [InlineData("GET", "/stream")]
    public async Task A_10_KB_job_id_reaches_the_api_and_gets_a_problem_on_a_connection_that_stays_open(string method, string suffix)
    {
        var id = new string('k', 10 * 1024);
        await using var connection = await RawHttpConnection.OpenAsync(BaseAddress);
        var answer = await connection.SendAsync(method, $"{Api.Jobs}/{id}{suffix}", method == "PATCH" ? """{"labels":{"a":"b"}}"""u8.ToArray() : null);

        var problem = ExpectProblem(answer, 404);
        Assert.Contains("1–128 characters", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.True(problem.GetProperty("detail").GetString()!.Length < 400, $"the detail repeats the whole id: {answer}");
        Assert.False(answer.SaysClose, $"a 404 need not close the connection: {answer}");

        var next = await connection.SendAsync("GET", "/health");
        Assert.Equal(200, next.Status);
    }

    [Fact]
    public async Task A_declared_body_over_the_limit_gets_413_with_connection_close_and_the_connection_closes()
    {
        await using var connection = await RawHttpConnection.OpenAsync(BaseAddress);
        var warmUp = await connection.SendAsync("GET", "/health");
        Assert.Equal(200, warmUp.Status);

        var answer = await connection.SendAsync("POST", Api.Jobs, TwoMegabytes);
        ExpectProblem(answer, 413);
        Assert.True(answer.SaysClose, $"413 without Connection: close, though the server closes the connection: {answer}");
        Assert.True(await connection.ClosedByServerAsync(CloseWait), "the server kept the connection open after Connection: close");
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_gets_413_with_connection_close()
    {
        await using var connection = await RawHttpConnection.OpenAsync(BaseAddress);
        var answer = await connection.SendAsync("POST", Api.Jobs, TwoMegabytes, chunked: true);
        ExpectProblem(answer, 413);
        Assert.True(answer.SaysClose, $"413 without Connection: close: {answer}");
        Assert.True(await connection.ClosedByServerAsync(CloseWait), "the server kept the connection open after Connection: close");
    }

    [Fact]
    public async Task A_malformed_chunked_body_gets_a_problem_with_connection_close()
    {
        // Kestrel cannot find where such a body ends, so it closes the connection after the answer.
        await using var connection = await RawHttpConnection.OpenAsync(BaseAddress);
        await connection.SendRawAsync("POST /api/v1/jobs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n");
        var answer = await connection.ReadResponseAsync();
        ExpectProblem(answer, 400);
        Assert.True(answer.SaysClose, $"the connection closes after this answer, which does not say so: {answer}");
        Assert.True(await connection.ClosedByServerAsync(CloseWait), "the server kept the connection open after Connection: close");
    }

    [Fact]
    public async Task A_route_that_reads_no_body_says_connection_close_when_the_declared_body_is_over_the_limit()
    {
        // Kestrel will not skip more than its body limit after the answer, so it closes the connection: the answer must say so.
        await using var connection = await RawHttpConnection.OpenAsync(BaseAddress);
        var answer = await connection.SendAsync("POST", Api.JobPath("no-such-job") + "/cancel", TwoMegabytes);
        ExpectProblem(answer, 404);
        Assert.True(answer.SaysClose, $"the connection closes after this answer, which does not say so: {answer}");
        Assert.True(await connection.ClosedByServerAsync(CloseWait), "the server kept the connection open after Connection: close");
    }

    /// <summary>
    /// What Kestrel answers before the application runs (docs/api.md): a bare status without problem details, and the
    /// connection closed. <c>%00</c> in a path is one: Kestrel refuses a path that decodes to a NUL character, and no job
    /// id can hold one.
    /// </summary>
    [Theory]
    [InlineData("NUL in the path", "/api/v1/jobs/a%00b", 400)]
    [InlineData("request line over 64 KB", "/api/v1/jobs/LONG", 414)]
    public async Task Requests_kestrel_answers_by_itself_get_a_bare_status_and_connection_close(string what, string target, int status)
    {
        target = target.Replace("LONG", new string('L', 65 * 1024), StringComparison.Ordinal);
        await using var connection = await RawHttpConnection.OpenAsync(BaseAddress);
        var answer = await connection.SendAsync("GET", target);
        Assert.True(answer.Status == status, $"{what}: expected {status}, got {answer}");
        Assert.True(answer.SaysClose, $"{what}: no Connection: close: {answer}");
        Assert.True(await connection.ClosedByServerAsync(CloseWait), $"{what}: the connection stayed open");
    }

    [Fact]
    public async Task Headers_over_32_KB_get_431_from_kestrel()
    {
        await using var connection = await RawHttpConnection.OpenAsync(BaseAddress);
        var answer = await connection.SendAsync("GET", "/health", headers: [$"X-Padding: {new string('p', 33 * 1024)}"]);
        Assert.True(answer.Status == 431, $"expected 431, got {answer}");
        Assert.True(answer.SaysClose, $"no Connection: close: {answer}");
    }

    private static JsonElement ExpectProblem(RawHttpResponse answer, int status)
    {
        Assert.True(answer.Status == status, $"expected {status}, got {answer}");
        Assert.True(answer.Header("Content-Type")?.StartsWith("application/problem+json", StringComparison.Ordinal) == true,
            $"not problem details: {answer}");
        using var document = JsonDocument.Parse(answer.Body);
        var problem = document.RootElement.Clone();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        return problem;
    }
}
