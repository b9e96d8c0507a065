using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Jobkeeper.AspNetCore.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Example.Tests;

/// <summary>
/// <c>UseJobkeeperApiKeys()</c> in an app that embeds the API: a valid key with the route's role is admitted without ASP.NET
/// Core's authentication and authorization middleware (which count every request they see), with the key as the caller;
/// every refusal still goes through them; and an app with authentication parts of its own always gets their path.
/// </summary>
public sealed class EmbeddedApiKeyTests : IDisposable
{
    private const string SubmitKey = "jk_embedded_submit_key";
    private const string ReadKey = "jk_embedded_read_key";
    private readonly string _tempDir = Directory.CreateTempSubdirectory("jobkeeper-embedded-keys-").FullName;

    private sealed class App : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly MetricCollector<long> _authorizations;
        private readonly MetricCollector<double> _authentications;

        private App(WebApplication app, HttpClient http)
        {
            _app = app;
            Http = http;
            var meters = app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
            _authorizations = new MetricCollector<long>(meters, "Microsoft.AspNetCore.Authorization", "aspnetcore.authorization.attempts");
            _authentications = new MetricCollector<double>(meters, "Microsoft.AspNetCore.Authentication", "aspnetcore.authentication.authenticate.duration");
        }

        public HttpClient Http { get; }

        /// <summary>Requests ASP.NET Core's authorization middleware decided, by result (success, failure).</summary>
        public long Authorizations(string result) => _authorizations.GetMeasurementSnapshot()
            .Where(m => m.Tags.TryGetValue("aspnetcore.authorization.result", out var tag) && Equals(tag, result)).Sum(m => m.Value);

        /// <summary>Requests ASP.NET Core's authentication ran a scheme for.</summary>
        public int Authentications => _authentications.GetMeasurementSnapshot().Count;

        public static async Task<App> StartAsync(string directory, IEnumerable<ApiKeyEntry> keys, Action<IServiceCollection>? own = null)
        {
            var builder = WebApplication.CreateBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            own?.Invoke(builder.Services);
            builder.Services.AddJobkeeper(o => o.UseSqlite(Path.Combine(directory, $"jobs-{Guid.NewGuid():N}.db")));
            builder.Services.AddJobkeeperApi();
            builder.Services.AddJobkeeperApiKeys(keys);
            var app = builder.Build();
            app.UseJobkeeperApiKeys();
            app.MapJobkeeper();
            // One connection for every request: the fast path remembers the key a connection matched last.
            var started = new App(app, new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }));
            await app.StartAsync();
            started.Http.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            return started;
        }

        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? key, object? body = null)
        {
            using var request = new HttpRequestMessage(method, path);
            if (key is not null)
            {
                request.Headers.Add("X-Api-Key", key);
            }

            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }

            return await Http.SendAsync(request);
        }

        public async ValueTask DisposeAsync()
        {
            _authorizations.Dispose();
            _authentications.Dispose();
            Http.Dispose();
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private static ApiKeyEntry Key(string name, string key, string role) => new() { Name = name, Hash = ApiKeyHash.Format(key), Roles = [role] };

    private static readonly ApiKeyEntry[] Keys = [Key("submitter", SubmitKey, "submit"), Key("reader", ReadKey, "read")];

    [Fact]
    public async Task A_valid_key_with_the_role_is_admitted_as_itself_and_refusals_still_go_through_the_framework()
    {
        await using var app = await App.StartAsync(_tempDir, Keys);

        using var created = await app.SendAsync(HttpMethod.Post, "/api/v1/jobs", SubmitKey, new { type = "embedded.keys" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        using var read = await app.SendAsync(HttpMethod.Get, $"/api/v1/jobs/{id}", ReadKey);
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var events = await app.SendAsync(HttpMethod.Get, $"/api/v1/jobs/{id}/events", ReadKey);
        var first = JsonDocument.Parse(await events.Content.ReadAsStringAsync()).RootElement.GetProperty("items")[0];
        Assert.Equal("submitter", first.GetProperty("actor").GetString());
        Assert.Equal(0, app.Authentications);
        Assert.Equal(0, app.Authorizations("success") + app.Authorizations("failure"));

        using var none = await app.SendAsync(HttpMethod.Get, $"/api/v1/jobs/{id}", null);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        using var wrong = await app.SendAsync(HttpMethod.Get, $"/api/v1/jobs/{id}", "jk_not_a_key");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("https://jobkeeper.dev/problems/invalid-api-key", JsonDocument.Parse(await wrong.Content.ReadAsStringAsync()).RootElement.GetProperty("type").GetString());
        using var forbidden = await app.SendAsync(HttpMethod.Delete, $"/api/v1/jobs/{id}", SubmitKey);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("needs the role 'admin'", await forbidden.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(3, app.Authentications);
        Assert.Equal(3, app.Authorizations("failure"));
        Assert.Equal(0, app.Authorizations("success"));
    }

    [Fact]
    public async Task One_connection_presenting_one_key_after_another_is_answered_for_each_key()
    {
        await using var app = await App.StartAsync(_tempDir, Keys);
        var sameLengthAsRead = "jk_embedded_reax_key";
        Assert.Equal(ReadKey.Length, sameLengthAsRead.Length);

        using var created = await app.SendAsync(HttpMethod.Post, "/api/v1/jobs", SubmitKey, new { type = "embedded.connection" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString();
        var answers = new List<HttpStatusCode>();
        foreach (var (method, path, key) in new (HttpMethod, string, string?)[]
        {
            (HttpMethod.Get, $"/api/v1/jobs/{id}", ReadKey),
            (HttpMethod.Get, $"/api/v1/jobs/{id}", ReadKey),
            (HttpMethod.Get, $"/api/v1/jobs/{id}", sameLengthAsRead),
            (HttpMethod.Get, $"/api/v1/jobs/{id}", ReadKey),
            (HttpMethod.Get, $"/api/v1/jobs/{id}", SubmitKey),
            (HttpMethod.Get, $"/api/v1/jobs/{id}", null),
            (HttpMethod.Post, $"/api/v1/jobs/{id}/cancel", ReadKey),
            (HttpMethod.Post, $"/api/v1/jobs/{id}/cancel", SubmitKey),
        })
        {
            using var response = await app.SendAsync(method, path, key);
            answers.Add(response.StatusCode);
        }

        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.Forbidden,
                HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.OK],
            answers);
        using var events = await app.SendAsync(HttpMethod.Get, $"/api/v1/jobs/{id}/events", ReadKey);
        var history = JsonDocument.Parse(await events.Content.ReadAsStringAsync()).RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(2, history.Count);
        Assert.All(history, e => Assert.Equal("submitter", e.GetProperty("actor").GetString()));
        Assert.Equal(4, app.Authorizations("failure"));
        Assert.Equal(0, app.Authorizations("success"));
    }

    [Fact]
    public async Task Without_keys_every_route_is_open_without_the_framework()
    {
        await using var app = await App.StartAsync(_tempDir, []);

        using var created = await app.SendAsync(HttpMethod.Post, "/api/v1/jobs", null, new { type = "embedded.open" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var cleanup = await app.SendAsync(HttpMethod.Delete, "/api/v1/jobs/cleanup?days=1", null);
        Assert.Equal(HttpStatusCode.OK, cleanup.StatusCode);
        Assert.Equal(0, app.Authentications + app.Authorizations("success"));
    }

    [Fact]
    public async Task An_app_with_its_own_claims_transformation_gets_the_framework_s_path_and_its_claims()
    {
        await using var app = await App.StartAsync(_tempDir, Keys, s => s.AddSingleton<IClaimsTransformation, TenantClaim>());

        using var created = await app.SendAsync(HttpMethod.Post, "/api/v1/jobs", SubmitKey, new { type = "embedded.transformed" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(1, app.Authorizations("success"));
        Assert.Equal(1, app.Authentications);
        Assert.True(TenantClaim.Seen > 0);
    }

    /// <summary>An app's own transformation: adds an identity with its claim to a copy, as ASP.NET Core asks.</summary>
    private sealed class TenantClaim : IClaimsTransformation
    {
        public static int Seen;

        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            Interlocked.Increment(ref Seen);
            var copy = principal.Clone();
            copy.AddIdentity(new ClaimsIdentity([new Claim("tenant", "t1")]));
            return Task.FromResult(copy);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_tempDir, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open; the temp directory is cleaned up by the system later.
        }
    }
}
