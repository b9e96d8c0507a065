namespace Jobkeeper.Server.Tests.Infrastructure.Fuzz;

/// <summary>
/// With API keys on: most requests carry the admin key (so they reach the endpoint), the rest none, an unknown key,
/// or a key whose role does not allow the route. Each must be answered with problem details like any other refusal.
/// </summary>
public sealed class FuzzCredentials(string adminKey, string readKey)
{
    public void Apply(Random random, List<KeyValuePair<string, string>> headers, List<string> mutations)
    {
        var roll = random.Next(20);
        var (key, label) = roll switch
        {
            < 15 => (adminKey, (string?)null),
            15 => ((string?)null, "no key"),
            16 => ("jk_unknown_" + random.Next(100), "unknown key"),
            17 => ("", "empty key"),
            _ => (readKey, "read-only key"),
        };
        if (label is not null)
        {
            mutations.Add(label);
        }

        if (key is not null)
        {
            headers.Add(random.Next(2) == 0 ? new("Authorization", "Bearer " + key) : new("X-Api-Key", key));
        }
    }
}
