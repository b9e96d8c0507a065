using Jobkeeper.Workers;

namespace Jobkeeper.Core.Tests;

public class RetryPolicyTests
{
    /// <summary>Just under 1: the top of the [0, 1) range a uniform random number comes from.</summary>
    private const double AlmostOne = 0.999_999_999;

    private static readonly RetryPolicy NoJitter = new() { BaseDelay = TimeSpan.FromSeconds(1), Factor = 2, Jitter = 0, MaxDelay = TimeSpan.FromMinutes(5) };

    [Fact]
    public void The_defaults_are_one_second_doubling_to_five_minutes_with_a_fifth_of_jitter()
    {
        var policy = new RetryPolicy();
        Assert.Equal(TimeSpan.FromSeconds(1), policy.BaseDelay);
        Assert.Equal(TimeSpan.FromMinutes(5), policy.MaxDelay);
        Assert.Equal(2, policy.Factor);
        Assert.Equal(0.2, policy.Jitter);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(4, 8)]
    [InlineData(8, 128)]
    public void The_delay_grows_exponentially_from_the_base(int failedAttempt, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), NoJitter.DelayAfter(failedAttempt, 0.3));
    }

    [Fact]
    public void The_factor_and_base_are_honoured()
    {
        var policy = NoJitter with { BaseDelay = TimeSpan.FromMilliseconds(500), Factor = 3 };
        Assert.Equal(TimeSpan.FromMilliseconds(500), policy.DelayAfter(1, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), policy.DelayAfter(2, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(4500), policy.DelayAfter(3, 0));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(11)]
    [InlineData(100)]
    [InlineData(int.MaxValue)]
    public void The_delay_is_capped_at_the_maximum(int failedAttempt)
    {
        Assert.Equal(TimeSpan.FromMinutes(5), NoJitter.DelayAfter(failedAttempt, 0.5));
    }

    [Fact]
    public void A_base_above_the_maximum_is_capped_too()
    {
        var policy = NoJitter with { BaseDelay = TimeSpan.FromMinutes(10) };
        Assert.Equal(TimeSpan.FromMinutes(5), policy.DelayAfter(1, 0.5));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void An_attempt_below_one_counts_as_the_first(int failedAttempt)
    {
        Assert.Equal(TimeSpan.FromSeconds(1), NoJitter.DelayAfter(failedAttempt, 0.5));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 4)]
    [InlineData(20, 300)]
    public void Jitter_spreads_the_delay_within_plus_or_minus_its_fraction(int failedAttempt, double nominalSeconds)
    {
        var policy = NoJitter with { Jitter = 0.2 };
        var nominal = TimeSpan.FromSeconds(nominalSeconds);

        Assert.Equal(nominal * 0.8, policy.DelayAfter(failedAttempt, 0));
        Assert.Equal(nominal, policy.DelayAfter(failedAttempt, 0.5));
        var top = policy.DelayAfter(failedAttempt, AlmostOne);
        Assert.True(top < nominal * 1.2, $"{top} should stay below {nominal * 1.2}");
        Assert.True(top > nominal * 1.199, $"{top} should come close to {nominal * 1.2}");

        for (var i = 0; i <= 100; i++)
        {
            var delay = policy.DelayAfter(failedAttempt, Math.Min(i / 100.0, AlmostOne));
            Assert.InRange(delay, nominal * 0.8, nominal * 1.2);
        }
    }

    [Fact]
    public void Jitter_grows_with_the_random_number()
    {
        var policy = NoJitter with { Jitter = 0.5 };
        var delays = Enumerable.Range(0, 11).Select(i => policy.DelayAfter(2, Math.Min(i / 10.0, AlmostOne))).ToList();
        Assert.Equal(delays.Order(), delays);
        Assert.Equal(TimeSpan.FromSeconds(1), delays[0]);
    }

    [Fact]
    public void Without_jitter_the_random_number_does_not_matter()
    {
        Assert.Equal(NoJitter.DelayAfter(3, 0), NoJitter.DelayAfter(3, AlmostOne));
    }

    [Fact]
    public void Jitter_outside_zero_to_one_is_clamped_and_a_delay_is_never_negative()
    {
        var wild = NoJitter with { Jitter = 3 };
        Assert.Equal(TimeSpan.Zero, wild.DelayAfter(2, 0));
        Assert.Equal(TimeSpan.FromSeconds(2), wild.DelayAfter(2, 0.5));
        Assert.True(wild.DelayAfter(2, AlmostOne) < TimeSpan.FromSeconds(4));

        var negative = NoJitter with { Jitter = -1 };
        Assert.Equal(TimeSpan.FromSeconds(2), negative.DelayAfter(2, 0));
        Assert.Equal(TimeSpan.FromSeconds(2), negative.DelayAfter(2, AlmostOne));
    }
}
