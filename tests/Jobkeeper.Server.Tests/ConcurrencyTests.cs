using System.Net;
using System.Text.Json;
using Jobkeeper.Server.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Jobkeeper.Server.Tests;

/// <summary>Compare-and-set with If-Match, and concurrent writers without it, against the real server.</summary>
public sealed class ConcurrencyTests(ServerFixture fixture, ITestOutputHelper output) : IClassFixture<ServerFixture>
{
    private const int Writers = 40;

    private HttpClient Client => fixture.Client;

    [Fact]
    public async Task Concurrent_patches_with_the_same_if_match_let_exactly_one_win()
    {
        var id = (await Client.CreateJobAsync("""{"type":"cas.if-match"}""")).Str("id");
        await WarmConnectionsAsync();

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = Enumerable.Range(0, Writers).Select(async i =>
        {
            await gate.Task;
            using var response = await Client.PatchJsonAsync(Api.JobPath(id), $$$"""{"progress":{"message":"writer {{{i}}}","current":{{{i}}}}}""", ifMatch: "\"1\"");
            var body = await response.Content.ReadAsStringAsync();
            return (Writer: i, response.StatusCode, Body: body, ContentType: response.ContentType()?.MediaType);
        }).ToList();
        gate.SetResult();
        var results = await Task.WhenAll(attempts);

        var summary = string.Join(", ", results.GroupBy(r => r.StatusCode).Select(g => $"{(int)g.Key}×{g.Count()}"))
            + string.Concat(results.Where(r => r.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.PreconditionFailed))
                .Take(3).Select(r => $"\n  writer {r.Writer}: {(int)r.StatusCode} {Api.Shorten(r.Body)}"));
        output.WriteLine($"{Writers} concurrent PATCH If-Match \"1\": {summary}");
        var winners = results.Where(r => r.StatusCode == HttpStatusCode.OK).ToList();
        Assert.True(winners.Count == 1, $"expected exactly one 200, got {summary}");
        var losers = results.Where(r => r.StatusCode == HttpStatusCode.PreconditionFailed).ToList();
        Assert.True(losers.Count == Writers - 1, $"expected {Writers - 1} × 412, got {summary}");
        Assert.All(losers, l => Assert.Equal("application/problem+json", l.ContentType));

        var job = await Client.GetJobAsync(id);
        Assert.Equal(2, job.Version());
        Assert.Equal($"writer {winners[0].Writer}", job.GetProperty("progress").Str("message"));
        using (var winner = JsonDocument.Parse(winners[0].Body))
        {
            Assert.Equal(2, winner.RootElement.Version());
        }

        var events = await Client.GetJsonAsync(Api.JobPath(id) + "/events");
        Assert.Equal(2, events.GetProperty("items").GetArrayLength()); // created + one updated
    }

    [Fact]
    public async Task Concurrent_patches_without_if_match_are_all_applied()
    {
        var id = (await Client.CreateJobAsync("""{"type":"cas.merge"}""")).Str("id");
        await WarmConnectionsAsync();

        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var attempts = Enumerable.Range(0, Writers).Select(async i =>
        {
            await gate.Task;
            using var response = await Client.PatchJsonAsync(Api.JobPath(id), $$$"""{"labels":{"writer{{{i}}}":"{{{i}}}"}}""");
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }).ToList();
        gate.SetResult();
        var results = await Task.WhenAll(attempts);

        Assert.All(results, r => Assert.True(r.StatusCode == HttpStatusCode.OK, $"{(int)r.StatusCode}: {r.Body}"));
        var versions = results.Select(r =>
        {
            using var document = JsonDocument.Parse(r.Body);
            return document.RootElement.Version();
        }).Order().ToList();
        Assert.Equal(Enumerable.Range(2, Writers).Select(v => (long)v), versions); // each write got its own version

        var job = await Client.GetJobAsync(id);
        Assert.Equal(Writers + 1, job.Version());
        var labels = job.GetProperty("labels");
        for (var i = 0; i < Writers; i++)
        {
            Assert.True(labels.TryGetProperty($"writer{i}", out var value) && value.GetString() == i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                $"writer{i}'s label was lost: {labels}");
        }
    }

    /// <summary>
    /// Many clients send different bodies at once; every request must be answered — and stored — with exactly
    /// its own content. A server that let one request's body bytes be read while parsing another would create
    /// jobs with someone else's data, or refuse valid requests with nonsense field names.
    /// </summary>
    [Fact]
    public async Task Concurrent_requests_each_get_exactly_their_own_body()
    {
        const int clients = 24;
        const int perClient = 60;
        var problems = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var run = "";

        async Task ClientAsync(int c)
        {
            var random = new Random(c);
            for (var i = 0; i < perClient; i++)
            {
                var id = $"body-{run}-{c}-{i}";
                var filler = new string((char)('a' + random.Next(26)), random.Next(10, 1500));
                // Many labels: the server reads each of them from the body after it has started to parse it.
                var labels = string.Join(",", Enumerable.Range(0, 24).Select(l => $"\"l{l}\":\"{id}-{l}\""));
                var create = $$$"""{"id":"{{{id}}}","type":"body.{{{run}}}.{{{c}}}","labels":{"client":"{{{c}}}","n":"{{{i}}}",{{{labels}}}},"input":{"id":"{{{id}}}","filler":"{{{filler}}}"}}""";
                using (var response = await Client.PostJsonAsync(Api.Jobs, create))
                {
                    var text = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode != HttpStatusCode.Created)
                    {
                        problems.Enqueue($"POST {id} -> {(int)response.StatusCode}: {Api.Shorten(text)}");
                        continue;
                    }

                    using var job = JsonDocument.Parse(text);
                    var root = job.RootElement;
                    if (!Holds(() => root.Str("id") == id && root.Str("type") == $"body.{run}.{c}"
                        && root.GetProperty("labels").Str("n") == i.ToString(System.Globalization.CultureInfo.InvariantCulture)
                        && root.GetProperty("input").Str("id") == id && root.GetProperty("input").Str("filler") == filler
                        && root.GetProperty("labels").EnumerateObject().Count() == 26
                        && Enumerable.Range(0, 24).All(l => root.GetProperty("labels").Str($"l{l}") == $"{id}-{l}")))
                    {
                        problems.Enqueue($"POST {id} answered another body: {Api.Shorten(text)}");
                    }
                }

                var message = $"{id} step {new string('m', random.Next(1, 800))}";
                using (var response = await Client.PatchJsonAsync(Api.JobPath(id), $$$"""{"progress":{"message":"{{{message}}}","current":{{{i}}}}}"""))
                {
                    var text = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        problems.Enqueue($"PATCH {id} -> {(int)response.StatusCode}: {Api.Shorten(text)}");
                        continue;
                    }

                    using var job = JsonDocument.Parse(text);
                    if (!Holds(() => job.RootElement.Str("id") == id && job.RootElement.GetProperty("progress").Str("message") == message))
                    {
                        problems.Enqueue($"PATCH {id} stored another body's message: {Api.Shorten(text)}");
                    }
                }
            }
        }

        // The fault this looks for is a race: a few rounds (stopping at the first problem) make missing it unlikely.
        var rounds = 0;
        while (rounds < 3 && problems.IsEmpty)
        {
            run = Guid.NewGuid().ToString("N")[..8];
            rounds++;
            await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientAsync(c))));
            await CheckStoredAsync();
        }

        output.WriteLine($"{rounds} rounds of {clients} clients × {perClient} creates + patches: {problems.Count} problems");
        Assert.True(problems.IsEmpty, $"{problems.Count} requests were answered or stored with data that was not theirs, e.g.:\n{string.Join("\n", problems.Take(8))}");

        // What the store holds is what each client sent.
        async Task CheckStoredAsync()
        {
            for (var c = 0; c < clients; c++)
            {
                var page = await Client.GetJsonAsync($"{Api.Jobs}?type=body.{run}.{c}&limit=1000");
                foreach (var job in page.GetProperty("items").EnumerateArray())
                {
                    var id = job.Str("id");
                    if (!Holds(() => id.StartsWith($"body-{run}-{c}-", StringComparison.Ordinal) && job.GetProperty("input").Str("id") == id
                        && job.GetProperty("labels").EnumerateObject().Count() == 26
                        && Enumerable.Range(0, 24).All(l => job.GetProperty("labels").Str($"l{l}") == $"{id}-{l}")
                        && job.GetProperty("progress").Str("message").StartsWith(id + " step ", StringComparison.Ordinal)))
                    {
                        problems.Enqueue($"stored job {id} holds another request's data: {Api.Shorten(job.ToString())}");
                    }
                }
            }
        }
    }

    /// <summary>True when the check holds; a member that is missing or of another kind means it does not.</summary>
    private static bool Holds(Func<bool> check)
    {
        try
        {
            return check();
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Opens enough connections first so that the racing requests really arrive together.</summary>
    private async Task WarmConnectionsAsync() =>
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(async _ =>
        {
            using var response = await Client.GetAsync("/health");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }));
}
