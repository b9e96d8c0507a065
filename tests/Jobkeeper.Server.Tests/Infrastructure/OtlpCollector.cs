using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>A span as an OTLP exporter sent it: ids as lowercase hex, the scope that made it, and its string and integer attributes.</summary>
public sealed record ExportedSpan(string TraceId, string SpanId, string ParentSpanId, string Name, string Scope, IReadOnlyDictionary<string, string> Attributes)
{
    public string? Attribute(string key) => Attributes.GetValueOrDefault(key);
}

/// <summary>
/// An OTLP/HTTP collector on a loopback port, for a server process to export to (<c>Jobkeeper:Otlp:Protocol</c> http/protobuf):
/// it keeps every span of <c>POST /v1/traces</c> and acknowledges metrics. Disposing stops it.
/// </summary>
public sealed class OtlpCollector : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<ExportedSpan> _spans = new();
    private readonly Task _loop;

    public OtlpCollector()
    {
        var port = FreePort();
        Endpoint = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Endpoint + "/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    /// <summary>The base address to give the exporter (it adds /v1/traces and /v1/metrics).</summary>
    public string Endpoint { get; }

    public IReadOnlyList<ExportedSpan> Spans => [.. _spans];

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            if (context.Request.Url?.AbsolutePath == "/v1/traces")
            {
                foreach (var span in OtlpTraces.Read(body.ToArray()))
                {
                    _spans.Enqueue(span);
                }
            }

            // An empty Export*ServiceResponse: everything accepted.
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}

/// <summary>
/// Reads the spans of an OTLP <c>ExportTraceServiceRequest</c> (protobuf wire format): resource_spans(1) → scope_spans(2) →
/// scope(1).name(1) and spans(2) → trace_id(1), span_id(2), parent_span_id(4), name(5), attributes(9) key(1) value(2)
/// string_value(1) or int_value(3). Everything else is skipped by its wire type.
/// </summary>
public static class OtlpTraces
{
    public static List<ExportedSpan> Read(byte[] request)
    {
        var spans = new List<ExportedSpan>();
        foreach (var resourceSpans in Fields(request, 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                var scope = Fields(scopeSpans, 1).Select(s => Text(Fields(s, 1).FirstOrDefault())).FirstOrDefault() ?? "";
                spans.AddRange(Fields(scopeSpans, 2).Select(span => ReadSpan(span, scope)));
            }
        }

        return spans;
    }

    private static ExportedSpan ReadSpan(ReadOnlyMemory<byte> span, string scope)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in Fields(span, 9))
        {
            var key = Text(Fields(pair, 1).FirstOrDefault());
            var value = Fields(pair, 2).FirstOrDefault();
            if (Fields(value, 1).Select(v => (string?)Text(v)).FirstOrDefault() is { } text)
            {
                attributes[key] = text;
            }
            else if (Varints(value, 3).Select(v => (long?)v).FirstOrDefault() is { } number)
            {
                attributes[key] = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return new ExportedSpan(Hex(Fields(span, 1).FirstOrDefault()), Hex(Fields(span, 2).FirstOrDefault()), Hex(Fields(span, 4).FirstOrDefault()),
            Text(Fields(span, 5).FirstOrDefault()), scope, attributes);
    }

    private static string Hex(ReadOnlyMemory<byte> bytes) => Convert.ToHexStringLower(bytes.Span);

    private static string Text(ReadOnlyMemory<byte> bytes) => System.Text.Encoding.UTF8.GetString(bytes.Span);

    /// <summary>The length-delimited fields numbered <paramref name="number"/> of a message.</summary>
    private static List<ReadOnlyMemory<byte>> Fields(ReadOnlyMemory<byte> message, int number) =>
        [.. Walk(message).Where(f => f.Number == number && f.WireType == 2).Select(f => f.Bytes)];

    /// <summary>The varint fields numbered <paramref name="number"/> of a message.</summary>
    private static List<long> Varints(ReadOnlyMemory<byte> message, int number) =>
        [.. Walk(message).Where(f => f.Number == number && f.WireType == 0).Select(f => f.Value)];

    private static List<(int Number, int WireType, ReadOnlyMemory<byte> Bytes, long Value)> Walk(ReadOnlyMemory<byte> message)
    {
        var fields = new List<(int, int, ReadOnlyMemory<byte>, long)>();
        var position = 0;
        while (position < message.Length)
        {
            var key = ReadVarint(message.Span, ref position);
            var (number, wireType) = ((int)(key >> 3), (int)(key & 7));
            switch (wireType)
            {
                case 0:
                    fields.Add((number, wireType, default, (long)ReadVarint(message.Span, ref position)));
                    break;
                case 1:
                    position += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message.Span, ref position);
                    fields.Add((number, wireType, message.Slice(position, length), 0));
                    position += length;
                    break;
                case 5:
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"Wire type {wireType} at byte {position} is not one OTLP uses.");
            }
        }

        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> bytes, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
    }
}
