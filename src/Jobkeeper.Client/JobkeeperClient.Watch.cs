using Jobkeeper.Contracts;
using Jobkeeper.Json;
using Jobkeeper.Model;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;

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
                await foreach (var (item, resumeAfter) in JobEventStream.ReadAsync(body, cancellationToken).ConfigureAwait(false))
                {
                    if (item.Type == "overflow")
                    {
                        break;
                    }

                    last = resumeAfter;
                    yield return item;
                }
            }
        }
    }
}
