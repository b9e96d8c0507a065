using System.Globalization;

namespace Jobkeeper.Server.Tests.Infrastructure.Fuzz;

/// <summary>
/// Builds request number <c>index</c> for an operation from the seed alone: the same seed and index give the same
/// request (path ids, query, headers, body), whatever the server answered before.
/// </summary>
public sealed class RequestGenerator(BodyMutator bodies, FuzzFixtures fixtures, int seed, FuzzCredentials? credentials = null)
{
    /// <summary>Under Kestrel's request-line limit (64 KB, see KestrelLimits), so every request reaches the application.</summary>
    private const int MaxPathAndQuery = 60 * 1024;

    public int Seed => seed;

    public FuzzRequest Create(ApiOperation operation, int index)
    {
        var random = new Random(unchecked((seed * 1_000_003) + index));
        var mutations = new List<string>();
        // Half the requests on a job that take a lease token name a running job and its own token, to get past the lease check.
        (string Id, string Token)? lease = operation.PathParameters.Contains("id") && operation.BodySchema is not null && random.Next(2) == 0
            ? fixtures.Lease(random)
            : null;
        var path = Path(operation, random, mutations, lease?.Id);
        var query = Query(operation, random, mutations);
        if (path.Length + query.Length > MaxPathAndQuery)
        {
            query = "";
        }

        var headers = Headers(operation, random, mutations);
        credentials?.Apply(random, headers, mutations);
        byte[]? body = null;
        string? contentType = null;
        if (operation.BodySchema is { } schema)
        {
            (body, contentType) = bodies.Create(schema, random, mutations, lease?.Token);
        }
        else if (random.Next(20) == 0)
        {
            body = BodyMutator.Unexpected(random);
            contentType = "application/json";
            mutations.Add("unexpected body");
        }

        return new FuzzRequest(operation, index, mutations, path + query, headers, body, contentType);
    }

    private string Path(ApiOperation operation, Random random, List<string> mutations, string? leasedId)
    {
        var path = operation.PathTemplate;
        foreach (var name in operation.PathParameters)
        {
            var roll = random.Next(20);
            string value;
            if (leasedId is not null && name == "id")
            {
                value = leasedId;
            }
            else if (roll < 11)
            {
                value = fixtures.Id(random);
            }
            else if (roll < 14)
            {
                value = "fz-" + random.Next(1_000_000);
            }
            else
            {
                value = HostileValues.PathIds[random.Next(HostileValues.PathIds.Length)];
                mutations.Add($"{name}={Short(value)}");
            }

            path = path.Replace("{" + name + "}", value, StringComparison.Ordinal);
        }

        return path;
    }

    private static string Query(ApiOperation operation, Random random, List<string> mutations)
    {
        var pairs = new List<string>();
        foreach (var name in operation.QueryParameters)
        {
            if (random.Next(10) < 3)
            {
                var hostile = random.Next(2) == 0;
                var value = hostile ? HostileValues.QueryValues[random.Next(HostileValues.QueryValues.Length)] : Plausible(name, random);
                pairs.Add(name + "=" + value);
                if (hostile)
                {
                    mutations.Add($"{name}={Short(value)}");
                }
            }
        }

        switch (random.Next(40))
        {
            case 0:
                pairs.Add("unknown_filter=1");
                mutations.Add("unknown query parameter");
                break;
            case 1 when operation.QueryParameters.Count > 0:
                var repeated = operation.QueryParameters[random.Next(operation.QueryParameters.Count)];
                pairs.Add($"{repeated}=1");
                pairs.Add($"{repeated}=2");
                mutations.Add($"{repeated} twice");
                break;
            case 2 when operation.QueryParameters.Count > 0:
                var huge = operation.QueryParameters[random.Next(operation.QueryParameters.Count)];
                pairs.Add(huge + "=" + new string('h', random.Next(1_000, 20_000)));
                mutations.Add($"huge {huge}");
                break;
        }

        return pairs.Count == 0 ? "" : "?" + string.Join("&", pairs);
    }

    private static string Plausible(string name, Random random) => name switch
    {
        "status" => new[] { "queued", "running", "waiting,failed", "completed" }[random.Next(4)],
        "type" => FuzzFixtures.Types[random.Next(FuzzFixtures.Types.Length)],
        "label" => "fuzz:fixture",
        "created_after" or "created_before" => Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(random.Next(-120, 120)).ToString("O", CultureInfo.InvariantCulture)),
        "limit" => random.Next(1, 100).ToString(CultureInfo.InvariantCulture),
        "days" => random.Next(0, 30).ToString(CultureInfo.InvariantCulture),
        "after" => random.Next(0, 200).ToString(CultureInfo.InvariantCulture),
        _ => "x",
    };

    private static List<KeyValuePair<string, string>> Headers(ApiOperation operation, Random random, List<string> mutations)
    {
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var name in operation.Headers)
        {
            if (random.Next(4) == 0)
            {
                var value = HostileValues.HeaderValues[random.Next(HostileValues.HeaderValues.Length)];
                headers.Add(new(name, value));
                mutations.Add($"{name}: {Short(value)}");
            }
        }

        return headers;
    }

    private static string Short(string text) => text.Length <= 24 ? text : $"{text[..12]}…({text.Length})";
}
