using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>One Server-Sent Events message: its <c>event</c> type (default <c>message</c>), its data lines joined by newlines, and its <c>id</c>.</summary>
public sealed record SseMessage(string Event, string Data, string? Id)
{
    private JsonElement? _json;

    /// <summary>The data parsed as JSON.</summary>
    public JsonElement Json
    {
        get
        {
            if (_json is null)
            {
                using var document = JsonDocument.Parse(Data);
                _json = document.RootElement.Clone();
            }

            return _json.Value;
        }
    }

    /// <summary>The <c>id</c> field as a number (fails when there is none).</summary>
    public long EventId => long.Parse(Id ?? throw new InvalidOperationException($"no id on {this}"), System.Globalization.CultureInfo.InvariantCulture);

    public string JobId => Json.GetProperty("job_id").GetString() ?? "";

    public override string ToString() => $"[{Event} #{Id}] {Api.Shorten(Data)}";
}

/// <summary>
/// A <c>text/event-stream</c> reader over one HTTP response, opened with <see cref="HttpCompletionOption.ResponseHeadersRead"/>.
/// A background pump parses messages as they arrive (so a test never cancels a half-read line, which would
/// drop the connection); tests wait on what has arrived with deadlines. Opening does not wait for the response
/// headers, since a server may send them only with its first message. Disposing closes the connection.
/// </summary>
public sealed class SseClient : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<HttpResponseMessage> _response;
    private readonly HttpClient? _ownedClient;
    private readonly string _path;
    private readonly Lock _lock = new();
    private readonly List<SseMessage> _messages = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _pump;
    private bool _ended;
    private Exception? _error;

    private SseClient(HttpClient client, string path, string? lastEventId, HttpClient? ownedClient)
    {
        _path = path;
        _ownedClient = ownedClient;
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        _response = client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
    }

    /// <summary>Starts the request and (unless <paramref name="read"/> is false) reading the stream.</summary>
    public static SseClient Open(HttpClient client, string path, string? lastEventId = null, bool read = true)
    {
        var sse = new SseClient(client, path, lastEventId, ownedClient: null);
        if (read)
        {
            sse.StartReading();
        }

        return sse;
    }

    /// <summary>
    /// A stream on a connection of its own whose socket has a tiny receive buffer, so the bytes in flight are
    /// few and a client that does not read really falls behind the server. Reading starts with <see cref="StartReading"/>.
    /// </summary>
    public static SseClient OpenUnread(Uri baseAddress, string path)
    {
        Socket? connected = null;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 1024 };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    connected = socket;
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        return new SseClient(client, path, lastEventId: null, ownedClient: client) { _socket = () => connected };
    }

    private Func<Socket?>? _socket;

    /// <summary>
    /// Starts the background reader (once). A connection opened with a tiny receive buffer gets a large one
    /// first: the tiny window that made it fall behind would make catching up crawl (a few KB per round trip).
    /// </summary>
    public void StartReading()
    {
        if (_socket?.Invoke() is { } socket)
        {
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
        }

        _pump ??= Task.Run(PumpAsync);
    }

    /// <summary>The messages received so far, in order.</summary>
    public IReadOnlyList<SseMessage> Messages
    {
        get
        {
            lock (_lock)
            {
                return [.. _messages];
            }
        }
    }

    /// <summary>True once the server ended the stream (or reading failed).</summary>
    public bool Ended
    {
        get
        {
            lock (_lock)
            {
                return _ended;
            }
        }
    }

    /// <summary>Why reading ended, when it was not the server ending the response (a reset, a malformed chunk…); null otherwise.</summary>
    public Exception? Error
    {
        get
        {
            lock (_lock)
            {
                return _error;
            }
        }
    }

    /// <summary>The response, once its headers arrived (asserting they do within <paramref name="timeout"/>).</summary>
    public async Task<HttpResponseMessage> ResponseAsync(TimeSpan timeout)
    {
        try
        {
            return await _response.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"GET {_path}: no response headers within {timeout.TotalSeconds} s");
            throw;
        }
    }

    /// <summary>Waits until <paramref name="until"/> holds for the messages received; fails at the deadline or when the stream ends first.</summary>
    public async Task<IReadOnlyList<SseMessage>> WaitForAsync(Func<IReadOnlyList<SseMessage>, bool> until, TimeSpan timeout, string what)
    {
        var (met, snapshot, error) = await TryWaitAsync(until, timeout);
        if (!met)
        {
            Assert.Fail(Ended
                ? $"GET {_path}: the stream ended ({error?.Message ?? "by the server"}) before {what}. Received {snapshot.Count}: {Tail(snapshot)}"
                : $"GET {_path}: not {what} within {timeout.TotalSeconds} s. Received {snapshot.Count}: {Tail(snapshot)}");
        }

        return snapshot;
    }

    /// <summary>Like <see cref="WaitForAsync"/> but answers false (at the deadline, or when the stream ended) instead of failing.</summary>
    public async Task<bool> TryWaitForAsync(Func<IReadOnlyList<SseMessage>, bool> until, TimeSpan timeout) => (await TryWaitAsync(until, timeout)).Met;

    private async Task<(bool Met, IReadOnlyList<SseMessage> Messages, Exception? Error)> TryWaitAsync(Func<IReadOnlyList<SseMessage>, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task changed;
            List<SseMessage> snapshot;
            bool ended;
            Exception? error;
            lock (_lock)
            {
                changed = _changed.Task;
                snapshot = [.. _messages];
                ended = _ended;
                error = _error;
            }

            if (until(snapshot))
            {
                return (true, snapshot, error);
            }

            var left = deadline - DateTime.UtcNow;
            if (ended || left <= TimeSpan.Zero)
            {
                return (false, snapshot, error);
            }

            try
            {
                await changed.WaitAsync(left);
            }
            catch (TimeoutException)
            {
                // Checked once more, then answered.
            }
        }
    }

    /// <summary>Waits for the server to end the stream; returns everything received.</summary>
    public async Task<IReadOnlyList<SseMessage>> WaitForEndAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_ended)
                {
                    return [.. _messages];
                }

                changed = _changed.Task;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                var snapshot = Messages;
                Assert.Fail($"GET {_path}: the stream did not end within {timeout.TotalSeconds} s. Received {snapshot.Count}: {Tail(snapshot)}");
            }

            try
            {
                await changed.WaitAsync(left);
            }
            catch (TimeoutException)
            {
                // Reported above.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_pump is not null)
        {
            await _pump;
        }

        try
        {
            (await _response).Dispose();
        }
        catch (Exception ex) when (ex is OperationCanceledException or HttpRequestException)
        {
            // Never answered, or cancelled: nothing to close.
        }

        _ownedClient?.Dispose();
        _stop.Dispose();
    }

    private async Task PumpAsync()
    {
        Exception? error = null;
        try
        {
            using var response = await _response;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                Assert.Fail($"GET {_path}: expected 200, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(_stop.Token)}");
            }

            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            await using var stream = await response.Content.ReadAsStreamAsync(_stop.Token);
            await foreach (var message in ParseAsync(ReadLinesAsync(stream, _stop.Token), _stop.Token))
            {
                lock (_lock)
                {
                    _messages.Add(message);
                    Signal();
                }
            }
        }
        catch (Exception ex) when (_stop.IsCancellationRequested)
        {
            _ = ex; // Closed by the test.
        }
        catch (Exception ex)
        {
            error = ex;
        }
        finally
        {
            lock (_lock)
            {
                _ended = true;
                _error = error;
                Signal();
            }
        }
    }

    private void Signal()
    {
        _changed.TrySetResult();
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>
    /// The text/event-stream format: lines end with CR, LF or CRLF; a blank line dispatches; <c>:</c> starts a
    /// comment; a field's value follows its first colon, less one leading space; data lines join with LF; a
    /// message without data is not dispatched; an unfinished message at the end is dropped.
    /// </summary>
    public static async IAsyncEnumerable<SseMessage> ParseAsync(IAsyncEnumerable<string> lines,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? eventType = null;
        string? id = null;
        StringBuilder? data = null;
        await foreach (var line in lines.WithCancellation(cancellationToken))
        {
            if (line.Length == 0)
            {
                if (data is not null)
                {
                    yield return new SseMessage(eventType ?? "message", data.ToString(), id);
                }

                eventType = null;
                data = null;
                continue;
            }

            if (line[0] == ':')
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            switch (field)
            {
                case "event":
                    eventType = value;
                    break;
                case "data":
                    data = data is null ? new StringBuilder(value) : data.Append('\n').Append(value);
                    break;
                case "id" when !value.Contains('\0', StringComparison.Ordinal):
                    id = value; // The last event id persists until changed.
                    break;
            }
        }
    }

    /// <summary>The UTF-8 lines of <paramref name="stream"/>, each returned as soon as its end (CR, LF or CRLF) arrives.</summary>
    public static async IAsyncEnumerable<string> ReadLinesAsync(Stream stream,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        var line = new MemoryStream();
        var afterCr = false;
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            for (var i = 0; i < read; i++)
            {
                var b = buffer[i];
                if (b == (byte)'\n' && afterCr)
                {
                    afterCr = false;
                    continue;
                }

                afterCr = b == (byte)'\r';
                if (b is (byte)'\n' or (byte)'\r')
                {
                    yield return Encoding.UTF8.GetString(line.GetBuffer(), 0, (int)line.Length);
                    line.SetLength(0);
                }
                else
                {
                    line.WriteByte(b);
                }
            }
        }
    }

    private static string Tail(IReadOnlyList<SseMessage> messages) =>
        messages.Count == 0 ? "(none)" : string.Join("\n", messages.Skip(Math.Max(0, messages.Count - 5)));
}
