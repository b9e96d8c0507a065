using System.Net.Sockets;
using System.Text;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>An HTTP/1.1 answer as it came off the wire.</summary>
public sealed record RawHttpResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name) =>
        Headers.Where(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    /// <summary>True when the answer says the server closes the connection after it.</summary>
    public bool SaysClose => Header("Connection")?.Split(',').Any(t => t.Trim().Equals("close", StringComparison.OrdinalIgnoreCase)) == true;

    public string Text => Encoding.UTF8.GetString(Body);

    public override string ToString() =>
        $"{Status} [{string.Join("; ", Headers.Select(h => $"{h.Key}: {h.Value}"))}] {Api.Shorten(Text)}";
}

/// <summary>
/// One keep-alive HTTP/1.1 connection on a plain socket. It sends exactly the bytes it is given (paths no client library
/// would send, bodies larger than the server takes) and reads answers one at a time, so a test sees what any keep-alive
/// client sees: the status, the <c>Connection</c> header, and whether the server then closes the connection.
/// </summary>
public sealed class RawHttpConnection : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly string _host;
    private readonly MemoryStream _pending = new();

    private RawHttpConnection(Socket socket, string host)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _host = host;
    }

    public static async Task<RawHttpConnection> OpenAsync(Uri baseAddress)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(baseAddress.Host, baseAddress.Port);
        return new RawHttpConnection(socket, baseAddress.Authority);
    }

    /// <summary>
    /// Sends one request and reads its answer. The body goes out while the answer is read, as a real client's would: a
    /// server may answer (and close) before taking it all, and a failure to send the rest is then no error.
    /// </summary>
    public async Task<RawHttpResponse> SendAsync(string method, string target, byte[]? body = null, bool chunked = false,
        IEnumerable<string>? headers = null)
    {
        var head = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: {_host}\r\n");
        foreach (var header in headers ?? [])
        {
            head.Append(header).Append("\r\n");
        }

        if (body is not null)
        {
            head.Append("Content-Type: application/json\r\n");
            head.Append(chunked ? "Transfer-Encoding: chunked\r\n" : $"Content-Length: {body.Length}\r\n");
        }

        head.Append("\r\n");
        var sending = SendQuietlyAsync(Encoding.ASCII.GetBytes(head.ToString()), body, chunked);
        var response = await ReadResponseAsync(method);
        await sending;
        return response;
    }

    /// <summary>Sends <paramref name="request"/> exactly as given (malformed framing included); read the answer with <see cref="ReadResponseAsync"/>.</summary>
    public async Task SendRawAsync(string request) => await _stream.WriteAsync(Encoding.ASCII.GetBytes(request));

    /// <summary>True when the server closed the connection (end of stream or reset) within <paramref name="within"/>.</summary>
    public async Task<bool> ClosedByServerAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        var buffer = new byte[1];
        try
        {
            return await _stream.ReadAsync(buffer, timeout.Token) == 0;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public ValueTask DisposeAsync() => _stream.DisposeAsync();

    private async Task SendQuietlyAsync(byte[] head, byte[]? body, bool chunked)
    {
        try
        {
            await _stream.WriteAsync(head);
            if (body is null)
            {
                return;
            }

            if (chunked)
            {
                const int Chunk = 64 * 1024;
                for (var offset = 0; offset < body.Length; offset += Chunk)
                {
                    var length = Math.Min(Chunk, body.Length - offset);
                    await _stream.WriteAsync(Encoding.ASCII.GetBytes($"{length:x}\r\n"));
                    await _stream.WriteAsync(body.AsMemory(offset, length));
                    await _stream.WriteAsync("\r\n"u8.ToArray());
                }

                await _stream.WriteAsync("0\r\n\r\n"u8.ToArray());
            }
            else
            {
                await _stream.WriteAsync(body);
            }
        }
        catch (IOException)
        {
            // The server stopped reading (it answered already and is closing): what it answered is what counts.
        }
    }

    /// <summary>Reads the next answer on the connection (the method says whether it has a body: none after HEAD).</summary>
    public async Task<RawHttpResponse> ReadResponseAsync(string method = "GET")
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var headEnd = await FillUntilAsync(() => IndexOf(_pending, "\r\n\r\n"u8), timeout.Token);
        var head = Encoding.ASCII.GetString(Take(headEnd + 4));
        var lines = head.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Select(p => new KeyValuePair<string, string>(p[0].Trim(), p[1].Trim())).ToList();
        var response = new RawHttpResponse(status, headers, []);
        if (method == "HEAD" || status is 204 or 304)
        {
            return response;
        }

        if (response.Header("Content-Length") is { } lengthText)
        {
            var length = int.Parse(lengthText, System.Globalization.CultureInfo.InvariantCulture);
            await FillUntilAsync(() => _pending.Length >= length ? length : -1, timeout.Token);
            return response with { Body = Take(length) };
        }

        if (response.Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true)
        {
            var body = new MemoryStream();
            while (true)
            {
                var lineEnd = await FillUntilAsync(() => IndexOf(_pending, "\r\n"u8), timeout.Token);
                var size = Convert.ToInt32(Encoding.ASCII.GetString(Take(lineEnd + 2)).Trim().Split(';')[0], 16);
                await FillUntilAsync(() => _pending.Length >= size + 2 ? size + 2 : -1, timeout.Token);
                body.Write(Take(size + 2), 0, size);
                if (size == 0)
                {
                    return response with { Body = body.ToArray() };
                }
            }
        }

        return response;
    }

    /// <summary>Reads until <paramref name="found"/> returns a position (not -1); fails when the connection ends first.</summary>
    private async Task<int> FillUntilAsync(Func<int> found, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var at = found();
            if (at >= 0)
            {
                return at;
            }

            var read = await _stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                throw new IOException($"The server closed the connection mid-answer; received: {Encoding.ASCII.GetString(_pending.ToArray())}");
            }

            _pending.Write(buffer, 0, read);
        }
    }

    /// <summary>Removes and returns the first <paramref name="count"/> buffered bytes.</summary>
    private byte[] Take(int count)
    {
        var all = _pending.ToArray();
        _pending.SetLength(0);
        _pending.Write(all, count, all.Length - count);
        return all[..count];
    }

    private static int IndexOf(MemoryStream stream, ReadOnlySpan<byte> value) =>
        stream.GetBuffer().AsSpan(0, (int)stream.Length).IndexOf(value);
}
