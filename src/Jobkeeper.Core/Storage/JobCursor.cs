using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Jobkeeper.Storage;

/// <summary>
/// A keyset position in a listing's order: the sort key's value and the id (for the default newest-first order the key is
/// created_at, in microseconds). Encoded as opaque base64url text so clients treat it as a token; a cursor of another
/// order than the default says which (<see cref="Order"/>), so it is never read in the wrong one.
/// </summary>
public readonly record struct JobCursor(long CreatedAtMicros, string Id)
{
    /// <summary>The order the cursor was issued in.</summary>
    public JobOrder Order { get; init; } = JobOrder.Default;

    public static JobCursor After(Model.Job job) => After(job, JobOrder.Default);

    /// <summary>The position after <paramref name="job"/> in <paramref name="order"/>.</summary>
    public static JobCursor After(Model.Job job, JobOrder order) => new(order.KeyOf(job), job.Id) { Order = order };

    public string Encode()
    {
        var position = $"{CreatedAtMicros.ToString(CultureInfo.InvariantCulture)}:{Id}";
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Order == JobOrder.Default ? position : $"{Order}~{position}"));
    }

    public static bool TryDecode(string? text, out JobCursor cursor)
    {
        cursor = default;
        if (string.IsNullOrEmpty(text) || text.Length > 400)
        {
            return false;
        }

        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(text);
        }
        catch (FormatException)
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (ArgumentException)
        {
            return false;
        }

        var order = JobOrder.Default;
        var tilde = decoded.IndexOf('~', StringComparison.Ordinal);
        if (tilde >= 0)
        {
            if (!JobOrder.TryParse(decoded[..tilde], out order))
            {
                return false;
            }

            decoded = decoded[(tilde + 1)..];
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0
            || !long.TryParse(decoded.AsSpan(0, colon), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var key)
            || !Model.JobIds.IsValid(decoded[(colon + 1)..])
            || key < MinimumKey(order.Field))
        {
            return false;
        }

        cursor = new JobCursor(key, decoded[(colon + 1)..]) { Order = order };
        return true;
    }

    /// <summary>The least value a key of <paramref name="field"/> can take: times are never negative, a missing duration is −1.</summary>
    private static long MinimumKey(JobSortField field) => field switch
    {
        JobSortField.Priority => long.MinValue,
        JobSortField.Duration => -1,
        _ => 0,
    };
}
