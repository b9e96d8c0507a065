using Jobkeeper.Storage;

namespace Jobkeeper.Core.Tests;

public class JobCursorTests
{
    [Fact]
    public void A_cursor_round_trips()
    {
        var cursor = new JobCursor(1_767_268_800_123_456, "job:1.a_b-c");
        Assert.True(JobCursor.TryDecode(cursor.Encode(), out var decoded));
        Assert.Equal(cursor, decoded);
    }

    [Theory]
    [InlineData("not a cursor")]
    [InlineData("!!!!")]
    [InlineData("MTIz")] // "123": no id part
    [InlineData("LTE6YQ")] // "-1:a": negative time
    [InlineData("")]
    public void Garbage_does_not_decode(string text) => Assert.False(JobCursor.TryDecode(text, out _));

    [Fact]
    public void Timestamps_keep_microseconds()
    {
        var t = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);
        Assert.Equal(t.AddTicks(-7), TimeMicros.Truncate(t));
        Assert.Equal(TimeMicros.Truncate(t), TimeMicros.ToTimestamp(TimeMicros.From(t)));
    }
}
