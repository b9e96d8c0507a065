using Jobkeeper.Model;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Jobkeeper.Client;

public sealed partial class JobkeeperClient
{
    /// <summary>
    /// Live events as they are committed (Server-Sent Events): one job's with <paramref name="jobId"/>, else every
    /// job's, narrowed by <paramref name="type"/> and <paramref name="status"/>. When the connection drops (or the
    /// server cuts off a reader that fell behind) it reconnects with the last event id, so nothing is missed or
    /// repeated. Starts after <paramref name="lastEventId"/> when given, else with what happens next. Ends when cancelled.
    /// </summary>
    public async IAsyncEnumerable<StreamEvent> WatchAsync(string? jobId = null, string? type = null, string? status = null, long? lastEventId = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var path = jobId is null
            ? $"{Api}events?{(type is null ? "" : "type=" + Uri.EscapeDataString(type) + "&")}{(status is null ? "" : "status=" + Uri.EscapeDataString(status))}"
            : JobPath(jobId) + "/stream";
        var last = lastEventId;
        var pause = TimeSpan.FromMilliseconds(100);
        while (!cancellationToken.IsCancellationRequested)
        {
            HttpResponseMessage? response = null;
            Stream? body = null;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, path);
                if (last is { } id)
                {
                    request.Headers.TryAddWithoutValidation("Last-Event-ID", id.ToString(CultureInfo.InvariantCulture));
                }

                response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
                {
                    await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
                }

                response.EnsureSuccessStatusCode();
                body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(100);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
            {
                response?.Dispose();
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
                pause = TimeSpan.FromMilliseconds(Math.Min(5000, pause.TotalMilliseconds * 2));
                continue;
            }

            using (response)
            await using (body.ConfigureAwait(false))
            {
                await foreach (var item in ReadEventsAsync(body, cancellationToken).ConfigureAwait(false))
                {
                    if (item.Type == "overflow")
                    {
                        break;
                    }

                    last = item.Id;
                    yield return item;
                }
            }
        }
    }

    /// <summary>Parses text/event-stream; ends quietly when the connection drops (the caller reconnects).</summary>
    private static async IAsyncEnumerable<StreamEvent> ReadEventsAsync(Stream body, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(body);
        string? data = null;
        while (true)
        {
            string? line;
            try
            {
                line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            if (line is null)
            {
                yield break;
            }

            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data = line[5..].TrimStart();
            }
            else if (line.Length == 0 && data is not null)
            {
                var item = JsonSerializer.Deserialize(data, ClientJson.Default.StreamEvent);
                data = null;
                if (item is not null)
                {
                    yield return item;
                }
            }
        }
    }
}
