namespace Jobkeeper.Workers;

/// <summary>
/// How long a failed attempt waits before the next: exponential from <see cref="BaseDelay"/>, capped at
/// <see cref="MaxDelay"/>, spread by ±<see cref="Jitter"/> so jobs that failed together do not retry together.
/// How many attempts a job gets is its own <c>max_attempts</c>.
/// </summary>
public sealed record RetryPolicy
{
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMinutes(5);
    public double Factor { get; init; } = 2;
    /// <summary>Fraction of the delay added or taken away at random, 0..1.</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>The delay after attempt <paramref name="failedAttempt"/> (1-based) failed; <paramref name="random"/> is uniform in [0, 1).</summary>
    public TimeSpan DelayAfter(int failedAttempt, double random)
    {
        var exponent = Math.Max(0, failedAttempt - 1);
        var seconds = Math.Min(MaxDelay.TotalSeconds, BaseDelay.TotalSeconds * Math.Pow(Factor, exponent));
        var jitter = Math.Clamp(Jitter, 0, 1);
        seconds *= 1 - jitter + (2 * jitter * random);
        return TimeSpan.FromSeconds(Math.Max(0, seconds));
    }
}
