namespace Jobkeeper.Model;

/// <summary>Job id rules: 1–128 characters of A-Z a-z 0-9 . _ : - ; generated ids are time-ordered UUIDv7.</summary>
public static class JobIds
{
    public const int MaxLength = 128;

    /// <summary><see cref="IsValid"/> as a regular expression, for API documents.</summary>
    public const string Pattern = "^[A-Za-z0-9._:-]{1,128}$";

    public static string NewId(DateTimeOffset now) => Guid.CreateVersion7(now).ToString("D");

    /// <summary>Ids that would collide with a literal route segment (DELETE /api/v1/jobs/cleanup).</summary>
    public static bool IsReserved(string id) => string.Equals(id, "cleanup", StringComparison.Ordinal);

    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
