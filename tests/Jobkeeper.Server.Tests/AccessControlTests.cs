using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Jobkeeper.Server.Tests.Infrastructure;

namespace Jobkeeper.Server.Tests;

/// <summary>A server with one API key per role (and one key holding two roles), shared by the tests of <see cref="AccessControlTests"/>.</summary>
public sealed class KeyedServerFixture : IAsyncLifetime
{
    private ServerProcess? _server;

    public Dictionary<string, string> Keys { get; } = AccessKeys.NewKeyPerRole();

    /// <summary>A key with the roles read and submit.</summary>
    public string ReadSubmitKey { get; } = "jk_test_two_" + Guid.NewGuid().ToString("N");

    public ServerProcess Server => _server ?? throw new InvalidOperationException("The server has not started.");

    public async Task InitializeAsync()
    {
        var keys = Keys.Select(k => (Name: "key-" + k.Key, k.Value, Roles: new[] { k.Key }))
            .Append(("key-two", ReadSubmitKey, ["read", "submit"]));
        _server = await ServerProcess.StartAsync(prepareWorkingDirectory: AccessKeys.WriteSettings(keys));
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Every route under every role: allowed, 401 without or with a wrong key, 403 for a role that may not use it.</summary>
public sealed class AccessControlTests(KeyedServerFixture fixture) : IClassFixture<KeyedServerFixture>
{
    /// <summary>The route → role table of docs/api.md ("Access control").</summary>
    public static readonly (string Method, string Path, string? Body, string Role, bool Stream)[] Routes =
    [
        ("POST", "/api/v1/jobs", """{"type":"acl"}""", "submit", false),
        ("GET", "/api/v1/jobs", null, "read", false),
        ("POST", "/api/v1/jobs/bulk", """{"action":"retry","filter":{"type":"acl-none"},"dry_run":true}""", "submit", false),
        ("POST", "/api/v1/jobs/bulk", """{"action":"delete","filter":{"type":"acl-none"},"dry_run":true}""", "admin", false),
        ("GET", "/api/v1/jobs/missing-job", null, "read", false),
        ("PATCH", "/api/v1/jobs/missing-job", """{"labels":{"a":"b"}}""", "submit", false),
        ("DELETE", "/api/v1/jobs/missing-job", null, "admin", false),
        ("DELETE", "/api/v1/jobs/cleanup?days=36500", null, "admin", false),
        ("GET", "/api/v1/jobs/missing-job/events", null, "read", false),
        ("POST", "/api/v1/jobs/missing-job/cancel", null, "submit", false),
        ("POST", "/api/v1/jobs/missing-job/retry", null, "submit", false),
        ("GET", "/api/v1/jobs/missing-job/prompt", null, "read", false),
        ("POST", "/api/v1/jobs/missing-job/prompt/response", """{"answer":"yes"}""", "answer", false),
        ("GET", "/api/v1/workers", null, "read", false),
        ("POST", "/api/v1/workers/claim", """{"worker_id":"w","types":["acl-none"]}""", "work", false),
        ("POST", "/api/v1/jobs/missing-job/heartbeat", """{"lease_token":"t"}""", "work", false),
        ("POST", "/api/v1/jobs/missing-job/progress", """{"lease_token":"t","fraction":0.5}""", "work", false),
        ("POST", "/api/v1/jobs/missing-job/complete", """{"lease_token":"t"}""", "work", false),
        ("POST", "/api/v1/jobs/missing-job/fail", """{"lease_token":"t","error":{"message":"x"}}""", "work", false),
        ("POST", "/api/v1/jobs/missing-job/release", """{"lease_token":"t"}""", "work", false),
        ("POST", "/api/v1/jobs/missing-job/prompt", """{"lease_token":"t","key":"k","question":"q?"}""", "work", false),
        ("POST", "/api/v1/jobs/missing-job/checkpoint", """{"lease_token":"t","state":{}}""", "work", false),
        ("GET", "/api/v1/events", null, "read", true),
        ("GET", "/api/v1/jobs/missing-job/stream", null, "read", true),
        ("GET", "/metrics", null, "read", false),
    ];

    public static TheoryData<int> RouteIndexes()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < Routes.Length; i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(RouteIndexes))]
    public async Task Each_role_is_allowed_or_forbidden_as_the_table_says(int index)
    {
        var route = Routes[index];
        foreach (var role in AccessKeys.Roles)
        {
            var allowed = role == route.Role || role == "admin";
            // Bearer for some roles, X-Api-Key for others: both headers are exercised on every route.
            var status = await SendAsync(route, fixture.Keys[role], asHeader: role is "submit" or "answer");
            if (allowed)
            {
                Assert.True(status is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden),
                    $"{route.Method} {route.Path} with the '{role}' key: {(int)status}, expected it allowed");
            }
            else
            {
                Assert.True(status == HttpStatusCode.Forbidden, $"{route.Method} {route.Path} with the '{role}' key: {(int)status}, expected 403");
            }
        }

        var two = await SendAsync(route, fixture.ReadSubmitKey, asHeader: false);
        var twoAllowed = route.Role is "read" or "submit";
        Assert.True(twoAllowed ? two is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) : two == HttpStatusCode.Forbidden,
            $"{route.Method} {route.Path} with a read+submit key: {(int)two}");
    }

    [Theory]
    [MemberData(nameof(RouteIndexes))]
    public async Task Without_a_key_or_with_a_wrong_one_every_route_answers_401(int index)
    {
        var route = Routes[index];
        foreach (var (key, asHeader) in new (string?, bool)[] { (null, false), ("jk_wrong_" + Guid.NewGuid().ToString("N"), false), ("jk_wrong", true), (fixture.Keys["admin"] + "x", false) })
        {
            using var request = Request(route).WithKey(key, asHeader);
            using var response = await fixture.Server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{route.Method} {route.Path} with key '{key}': {(int)response.StatusCode}");
            Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(401, problem.RootElement.GetProperty("status").GetInt32());
        }
    }

    [Fact]
    public async Task A_forbidden_route_answers_403_with_problem_details_naming_the_role()
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/jobs/cleanup?days=1").WithKey(fixture.Keys["read"]);
        using var response = await fixture.Server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("admin", body, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Keys["read"], body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_streams_accept_the_key_as_access_token_and_no_other_route_does()
    {
        foreach (var path in new[] { "/api/v1/events", "/api/v1/events?type=x" })
        {
            var sep = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
            using var ok = await fixture.Server.Client.GetAsync($"{path}{sep}access_token={Uri.EscapeDataString(fixture.Keys["read"])}", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("text/event-stream", ok.Content.Headers.ContentType?.MediaType);
        }

        using var wrong = await fixture.Server.Client.GetAsync("/api/v1/events?access_token=jk_wrong", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        using var forbidden = await fixture.Server.Client.GetAsync($"/api/v1/events?access_token={Uri.EscapeDataString(fixture.Keys["work"])}", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        using var notHere = await fixture.Server.Client.GetAsync($"/api/v1/jobs?access_token={Uri.EscapeDataString(fixture.Keys["admin"])}");
        Assert.Equal(HttpStatusCode.Unauthorized, notHere.StatusCode);
    }

    [Fact]
    public async Task Health_dashboard_and_openapi_stay_open()
    {
        foreach (var path in new[] { "/health", "/", "/openapi/v1.json" })
        {
            using var response = await fixture.Server.Client.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} without a key: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public async Task A_job_created_with_a_submit_key_is_read_with_a_read_key_and_deleted_only_by_admin()
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/v1/jobs") { Content = Api.Json("""{"type":"acl-flow"}""") }.WithKey(fixture.Keys["submit"]);
        using var created = await fixture.Server.Client.SendAsync(create);
        var job = await Api.ExpectJsonAsync(created, HttpStatusCode.Created);
        var path = Api.JobPath(job.GetProperty("id").GetString()!);
        using (var get = await fixture.Server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, path).WithKey(fixture.Keys["read"], asHeader: true)))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        }

        using (var delete = await fixture.Server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, path).WithKey(fixture.Keys["submit"])))
        {
            Assert.Equal(HttpStatusCode.Forbidden, delete.StatusCode);
        }

        using (var delete = await fixture.Server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, path).WithKey(fixture.Keys["admin"])))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }
    }

    private async Task<HttpStatusCode> SendAsync((string Method, string Path, string? Body, string Role, bool Stream) route, string key, bool asHeader)
    {
        using var request = Request(route).WithKey(key, asHeader);
        using var response = await fixture.Server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return response.StatusCode;
    }

    private static HttpRequestMessage Request((string Method, string Path, string? Body, string Role, bool Stream) route)
    {
        var request = new HttpRequestMessage(new HttpMethod(route.Method), route.Path);
        if (route.Body is not null)
        {
            request.Content = Api.Json(route.Body);
        }

        return request;
    }
}
