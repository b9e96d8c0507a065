using System.Collections.Concurrent;
using System.Net;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>Every response a <see cref="ServerProcess"/> client received, in arrival order.</summary>
public sealed class ResponseRecorder
{
    private readonly ConcurrentQueue<RecordedResponse> _all = new();
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public void Add(RecordedResponse response)
    {
        _all.Enqueue(response);
        Interlocked.Increment(ref _count);
    }

    /// <summary>The responses received after <paramref name="mark"/> (a value of <see cref="Count"/>).</summary>
    public IReadOnlyList<RecordedResponse> Since(long mark) => _all.Skip((int)mark).ToArray();

    public IReadOnlyList<RecordedResponse> ServerErrorsSince(long mark) =>
        Since(mark).Where(r => (int)r.Status >= 500).ToArray();
}

public sealed record RecordedResponse(string Method, string Target, HttpStatusCode Status)
{
    public override string ToString() => $"{Method} {Target} -> {(int)Status} {Status}";
}

/// <summary>Records the status of every response that came back.</summary>
public sealed class RecordingHandler(ResponseRecorder recorder, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var target = request.RequestUri?.PathAndQuery ?? "";
        recorder.Add(new RecordedResponse(request.Method.Method, target.Length <= 200 ? target : target[..200] + "…", response.StatusCode));
        return response;
    }
}
