using System.Net;
using System.Text;
using System.Text.Json;

namespace Jobkeeper.Server.Tests.Infrastructure.Fuzz;

/// <summary>
/// Sends generated requests over keep-alive connections, several at a time, and checks each answer: never a 5xx, and
/// every 4xx is <c>application/problem+json</c> whose <c>status</c> matches. An event stream never ends by itself, so
/// for one its headers are the answer and the connection is dropped.
/// </summary>
public static class FuzzRunner
{
    private const int LargeBody = 64 * 1024;

    public static async Task<FuzzReport> RunAsync(Uri baseAddress, IReadOnlyList<ApiOperation> operations, RequestGenerator generator, int count,
        int parallelism)
    {
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = parallelism,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        var origin = baseAddress.GetLeftPart(UriPartial.Authority);
        var report = new FuzzReport(operations.Count, generator.Seed);
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, parallelism).Select(_ => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < count)
            {
                // Round robin: every operation gets its share, whatever the seed.
                var request = generator.Create(operations[index % operations.Count], index);
                await SendAsync(client, origin, request, report);
            }
        })));
        return report;
    }

    private static async Task SendAsync(HttpClient client, string origin, FuzzRequest request, FuzzReport report)
    {
        // The path goes out exactly as generated (%2E%2E, %2F…), not as Uri would tidy it.
        var uri = new Uri(origin + request.PathAndQuery, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var message = new HttpRequestMessage(new HttpMethod(request.Operation.Method), uri);
        foreach (var (name, value) in request.Headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }

        if (request.Body is not null)
        {
            // As a client sending a large body should: the server refuses one over its limit before it is sent. Without
            // it the refusal (413, Connection: close) can be lost to a client still writing when the connection closes.
            message.Headers.ExpectContinue = request.Body.Length > LargeBody;
            message.Content = new ByteArrayContent(request.Body);
            if (request.ContentType is not null)
            {
                message.Content.Headers.TryAddWithoutValidation("Content-Type", request.ContentType);
            }
        }

        try
        {
            using var response = await client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead);
            var status = (int)response.StatusCode;
            var media = response.Content.Headers.ContentType?.MediaType;
            if (media == "text/event-stream")
            {
                report.Answered(request, status, fault: null);
                return;
            }

            var body = await response.Content.ReadAsByteArrayAsync();
            var fault = status >= 500 ? $"{status}: {Text(body)}"
                : status >= 400 ? ProblemFault(status, media, body)
                : null;
            report.Answered(request, status, fault);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException)
        {
            report.NotAnswered(request, ex);
        }
    }

    /// <summary>Null for a proper problem (RFC 9457) with the response's status; otherwise what is wrong with it.</summary>
    private static string? ProblemFault(int status, string? media, byte[] body)
    {
        if (media != "application/problem+json")
        {
            return $"{status} with Content-Type '{media ?? "(none)"}': {Text(body)}";
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number && s.GetInt32() == status
                && root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String
                    ? null
                    : $"{status} problem without a matching status and a title: {Text(body)}";
        }
        catch (JsonException)
        {
            return $"{status} problem+json that is not JSON: {Text(body)}";
        }
    }

    private static string Text(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 600));
        return body.Length <= 600 ? text : text + "…";
    }
}
