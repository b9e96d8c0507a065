namespace Jobkeeper.Storage;

/// <summary>Timestamps as whole microseconds since the Unix epoch: the precision every store keeps.</summary>
public static class TimeMicros
{
    private const long TicksPerMicrosecond = TimeSpan.TicksPerMicrosecond;

    public static long From(DateTimeOffset value) => (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TicksPerMicrosecond;

    public static DateTimeOffset ToTimestamp(long micros) =>
        new(DateTimeOffset.UnixEpoch.UtcTicks + (micros * TicksPerMicrosecond), TimeSpan.Zero);

    /// <summary>Drops sub-microsecond ticks so a value round-trips through any store unchanged.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset value) => ToTimestamp(From(value));
}
