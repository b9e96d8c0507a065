using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>
/// Concurrent clients that create jobs and patch them, recording what the server acknowledged: every
/// created id, and per job the highest version a successful PATCH returned. After <see cref="Stop"/>
/// (called just before the server is killed or terminated) failures are expected and only counted.
/// </summary>
public sealed class WriteWorkload(HttpClient client, string jobType)
{
    private readonly ConcurrentDictionary<string, long> _acknowledged = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _unexpected = new();
    private long _creates;
    private long _updates;
    private long _inFlight;
    private long _failedAfterStop;
    private volatile bool _stopping;

    /// <summary>Job id → highest version the server acknowledged for it (1 for a create).</summary>
    public IReadOnlyDictionary<string, long> Acknowledged => _acknowledged;

    public long Creates => Interlocked.Read(ref _creates);

    public long Updates => Interlocked.Read(ref _updates);

    public long InFlight => Interlocked.Read(ref _inFlight);

    public long FailedAfterStop => Interlocked.Read(ref _failedAfterStop);

    /// <summary>Failures before <see cref="Stop"/>: wrong status codes or transport errors. Must be empty.</summary>
    public IReadOnlyCollection<string> Unexpected => _unexpected;

    public Task RunAsync(int clients) =>
        Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientLoopAsync(c))));

    /// <summary>From now on no new request starts, and failures of requests in flight are expected.</summary>
    public void Stop() => _stopping = true;

    private async Task ClientLoopAsync(int clientNumber)
    {
        var random = new Random(clientNumber * 7919);
        var mine = new List<string>();
        var step = 0;
        while (!_stopping)
        {
            step++;
            var create = mine.Count < 2 || random.Next(3) == 0;
            Interlocked.Increment(ref _inFlight);
            try
            {
                if (create)
                {
                    using var response = await client.PostJsonAsync(Api.Jobs,
                        $$$"""{"type":"{{{jobType}}}","labels":{"client":"c{{{clientNumber}}}"},"input":{"client":{{{clientNumber}}},"step":{{{step}}}}}""");
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode == HttpStatusCode.Created)
                    {
                        var (id, version) = IdAndVersion(body);
                        Acknowledge(id, version);
                        mine.Add(id);
                        Interlocked.Increment(ref _creates);
                    }
                    else
                    {
                        Fail($"POST -> {(int)response.StatusCode}: {Api.Shorten(body)}");
                    }
                }
                else
                {
                    var id = mine[random.Next(mine.Count)];
                    using var response = await client.PatchJsonAsync(Api.JobPath(id),
                        $$$"""{"progress":{"current":{{{step}}},"message":"client {{{clientNumber}}} step {{{step}}}"},"labels":{"step":"{{{step}}}"}}""");
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        var (_, version) = IdAndVersion(body);
                        Acknowledge(id, version);
                        Interlocked.Increment(ref _updates);
                    }
                    else
                    {
                        Fail($"PATCH {id} -> {(int)response.StatusCode}: {Api.Shorten(body)}");
                    }
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException or JsonException)
            {
                Fail($"{(create ? "POST" : "PATCH")} failed: {ex.GetType().Name}: {ex.Message}");
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }

    private void Acknowledge(string id, long version) =>
        _acknowledged.AddOrUpdate(id, version, (_, old) => Math.Max(old, version));

    private void Fail(string what)
    {
        if (_stopping)
        {
            Interlocked.Increment(ref _failedAfterStop);
        }
        else
        {
            _unexpected.Enqueue(what);
        }
    }

    private static (string Id, long Version) IdAndVersion(string body)
    {
        using var document = JsonDocument.Parse(body);
        return (document.RootElement.Str("id"), document.RootElement.Version());
    }
}
