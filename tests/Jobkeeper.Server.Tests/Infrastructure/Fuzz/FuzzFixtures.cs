using System.Net;
using System.Text.Json;

namespace Jobkeeper.Server.Tests.Infrastructure.Fuzz;

/// <summary>
/// Jobs in every state, made before the fuzzing starts, so that fuzzed requests name real jobs and real lease tokens
/// and reach the checks behind "not found" and "lease lost". Their ids are fixed; the tokens are the server's.
/// </summary>
public sealed class FuzzFixtures
{
    /// <summary>The job types fuzzed requests create and claim.</summary>
    public static readonly string[] Types = ["fuzz.a", "fuzz.b", "fuzz.run"];

    private const int Running = 40;

    private readonly List<string> _ids = [];
    private readonly List<string> _tokens = [];
    private readonly List<(string Id, string Token)> _leases = [];

    public IReadOnlyList<string> Ids => _ids;

    /// <summary>A running job and its current lease token (until a fuzzed request ends the lease).</summary>
    public (string Id, string Token) Lease(Random random) => _leases[random.Next(_leases.Count)];

    /// <summary>A lease token: mostly one the server issued, sometimes a made-up one.</summary>
    public string Token(Random random) =>
        _tokens.Count > 0 && random.Next(5) > 0 ? _tokens[random.Next(_tokens.Count)] : "tok-" + random.Next(1000);

    public string Id(Random random) => _ids[random.Next(_ids.Count)];

    /// <summary>Queued, running, waiting (an open prompt), completed and failed jobs, made with <paramref name="send"/>.</summary>
    public static async Task<FuzzFixtures> CreateAsync(Func<HttpMethod, string, string?, Task<(HttpStatusCode Status, string Body)>> send)
    {
        var fixtures = new FuzzFixtures();
        async Task<JsonElement> Expect(HttpMethod method, string path, string? body, HttpStatusCode expected)
        {
            var (status, text) = await send(method, path, body);
            Assert.True(status == expected, $"fixture {method} {path}: expected {(int)expected}, got {(int)status}: {Api.Shorten(text)}");
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }

        async Task<List<(string Id, string Token)>> Claim(string type, int count)
        {
            var claimed = await Expect(HttpMethod.Post, WorkerApi.ClaimPath,
                $$"""{"worker_id":"fuzz-setup","types":["{{type}}"],"max":{{count}},"lease_seconds":3600}""", HttpStatusCode.OK);
            return [.. claimed.GetProperty("jobs").EnumerateArray().Select(j => (j.Str("id"), j.Str("lease_token")))];
        }

        foreach (var (prefix, type, count) in new[] { ("fz-queued", "fuzz.a", 4), ("fz-running", "fuzz.setup.run", Running), ("fz-waiting", "fuzz.setup.wait", 3),
                     ("fz-done", "fuzz.setup.done", 2), ("fz-failed", "fuzz.setup.fail", 2) })
        {
            for (var i = 0; i < count; i++)
            {
                var id = $"{prefix}-{i}";
                await Expect(HttpMethod.Post, Api.Jobs, $$$"""{"type":"{{{type}}}","id":"{{{id}}}","labels":{"fuzz":"fixture"},"input":{"n":{{{i}}}}}""",
                    HttpStatusCode.Created);
                fixtures._ids.Add(id);
            }
        }

        fixtures._leases.AddRange(await Claim("fuzz.setup.run", Running));
        fixtures._tokens.AddRange(fixtures._leases.Select(l => l.Token));
        foreach (var (id, token) in await Claim("fuzz.setup.wait", 3))
        {
            await Expect(HttpMethod.Post, Api.JobPath(id) + "/prompt",
                $$"""{"lease_token":"{{token}}","key":"k0","question":"Go on?","options":["yes","no"]}""", HttpStatusCode.OK);
            fixtures._tokens.Add(token); // No longer current: a lease-lost path.
        }

        foreach (var (id, token) in await Claim("fuzz.setup.done", 2))
        {
            await Expect(HttpMethod.Post, Api.JobPath(id) + "/complete", $$$"""{"lease_token":"{{{token}}}","result":{"ok":true}}""", HttpStatusCode.OK);
        }

        foreach (var (id, token) in await Claim("fuzz.setup.fail", 2))
        {
            await Expect(HttpMethod.Post, Api.JobPath(id) + "/fail", $$"""{"lease_token":"{{token}}","error":"broken","retry":false}""", HttpStatusCode.OK);
        }

        return fixtures;
    }
}
