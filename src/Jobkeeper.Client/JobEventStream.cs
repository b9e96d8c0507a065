using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Jobkeeper.Contracts;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.Client;

/// <summary>
/// Reads a job event stream (text/event-stream) with the BCL's <see cref="SseParser"/>, which follows the standard:
/// multi-line <c>data:</c> joined with newlines, comments and <c>retry:</c> skipped, <c>id:</c> kept across events.
/// Each event comes with the id to resume after: the stream's last <c>id:</c>, else the event's own id.
/// </summary>
internal static class JobEventStream
{
    /// <summary>The events of <paramref name="body"/>; ends quietly when the connection drops (the caller reconnects).</summary>
    public static async IAsyncEnumerable<(StreamEvent Event, long? ResumeAfter)> ReadAsync(Stream body,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parser = SseParser.Create(body, static (_, data) => JsonSerializer.Deserialize(data, JobkeeperJsonContext.Default.StreamEvent));
        await using var items = parser.EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            try
            {
                if (!await items.MoveNextAsync().ConfigureAwait(false))
                {
                    yield break;
                }
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
            {
                yield break;
            }

            if (items.Current.Data is not { } item)
            {
                continue;
            }

            var resumeAfter = long.TryParse(parser.LastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : item.Id;
            yield return (item, resumeAfter);
        }
    }
}
