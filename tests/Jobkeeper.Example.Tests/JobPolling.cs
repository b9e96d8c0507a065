using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Jobkeeper.Example.Tests;

/// <summary>Reads a job over HTTP again and again until a condition holds or a deadline passes.</summary>
internal static class JobPolling
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Polls <paramref name="url"/> until <paramref name="done"/> is true of the job, handing every
    /// reading to <paramref name="observe"/>; throws with the last reading and the app's output at the deadline.
    /// </summary>
    public static async Task<JsonNode> UntilAsync(
        ExampleAppProcess app, string url, Func<JsonNode, bool> done, TimeSpan deadline, Action<JsonNode>? observe = null)
    {
        var clock = Stopwatch.StartNew();
        JsonNode? last = null;
        while (clock.Elapsed < deadline)
        {
            last = await app.Http.GetFromJsonAsync<JsonNode>(url)
                ?? throw new InvalidOperationException($"GET {url} returned no JSON.");
            observe?.Invoke(last);
            if (done(last))
            {
                return last;
            }

            await Task.Delay(Interval);
        }

        throw new TimeoutException(
            $"GET {url} did not reach the expected state within {deadline.TotalSeconds} s. Last reading:{Environment.NewLine}" +
            $"{last?.ToJsonString()}{Environment.NewLine}App output:{Environment.NewLine}{app.Output}");
    }

    public static string Status(JsonNode job) => (string)job["status"]!;

    public static double? Fraction(JsonNode job) => (double?)job["progress"]?["fraction"];
}
