namespace Jobkeeper.Caching;

/// <summary>Bounds of the hot in-memory job cache.</summary>
public sealed class JobCacheOptions
{
    /// <summary>An entry not read or written for this long is dropped by the sweep (sliding).</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromMinutes(60);

    /// <summary>The most entries kept; past it the least recently used tenth is dropped.</summary>
    public int MaxEntries { get; set; } = 100_000;

    /// <summary>How often expired entries are swept.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(5);
}
