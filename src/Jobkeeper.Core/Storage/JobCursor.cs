using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Jobkeeper.Storage;

/// <summary>
/// A keyset position in the newest-first order: (created_at, id). Encoded as opaque base64url text
/// so clients treat it as a token.
/// </summary>
public readonly record struct JobCursor(long CreatedAtMicros, string Id)
{
    public static JobCursor After(Model.Job job) => new(TimeMicros.From(job.CreatedAt), job.Id);

    public string Encode() =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{CreatedAtMicros.ToString(CultureInfo.InvariantCulture)}:{Id}"));

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

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0
            || !long.TryParse(decoded.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var micros)
            || !Model.JobIds.IsValid(decoded[(colon + 1)..]))
        {
            return false;
        }

        cursor = new JobCursor(micros, decoded[(colon + 1)..]);
        return true;
    }
}
