using System.ComponentModel;

namespace Jobkeeper.Contracts;

/// <summary>What <c>GET /health</c> returns.</summary>
[Description("Store, counts and cache; `status` is `ok`, or `unavailable` / `corrupt` with `error` (then 503).")]
public sealed record HealthResponse(
    string Status,
    HealthStore Store,
    long? JobsCount,
    IReadOnlyDictionary<string, long>? JobsByStatus,
    HealthCache Cache,
    long UptimeSeconds,
    string? Error,
    HealthMaintenance Maintenance);

/// <summary>The store a server uses.</summary>
public sealed record HealthStore(string Provider, string Location, int? SchemaVersion, long? SizeBytes);

/// <summary>The job cache of the server that answered.</summary>
public sealed record HealthCache(int Entries, long Hits, long Misses, double HitRate);

/// <summary>Whether this instance runs maintenance (lease reaper, prompt expiry, retention) for its store.</summary>
public sealed record HealthMaintenance(bool Leader);
