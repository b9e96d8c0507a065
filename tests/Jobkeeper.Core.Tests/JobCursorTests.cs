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

    [Theory]
    [InlineData("-priority", -5L)]
    [InlineData("duration", -1L)]
    [InlineData("updated", 1_700_000_000_000_000L)]
    public void A_cursor_of_another_order_names_it_and_round_trips(string sort, long key)
    {
        Assert.True(JobOrder.TryParse(sort, out var order));
        var cursor = new JobCursor(key, "job-1") { Order = order };
        Assert.True(JobCursor.TryDecode(cursor.Encode(), out var decoded));
        Assert.Equal(cursor, decoded);
        Assert.Equal(order, decoded.Order);
    }

    [Theory]
    [InlineData("duration", -2L)]
    [InlineData("updated", -1L)]
    public void A_key_its_order_cannot_have_does_not_decode(string sort, long key)
    {
        Assert.True(JobOrder.TryParse(sort, out var order));
        Assert.False(JobCursor.TryDecode(new JobCursor(key, "job-1") { Order = order }.Encode(), out _));
    }

    [Fact]
    public void Timestamps_keep_microseconds()
    {
        var t = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);
        Assert.Equal(t.AddTicks(-7), TimeMicros.Truncate(t));
        Assert.Equal(TimeMicros.Truncate(t), TimeMicros.ToTimestamp(TimeMicros.From(t)));
    }
}
