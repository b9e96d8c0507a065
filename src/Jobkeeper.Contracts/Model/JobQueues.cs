namespace Jobkeeper.Model;

/// <summary>Queue name rules: 1–100 characters of the id alphabet (A-Z a-z 0-9 . _ : -); a job without one is in <see cref="Default"/>.</summary>
public static class JobQueues
{
    public const string Default = "default";

    public const int MaxLength = 100;

    /// <summary><see cref="IsValid"/> as a regular expression, for API documents.</summary>
    public const string Pattern = "^[A-Za-z0-9._:-]{1,100}$";

    public static bool IsValid(string? name) => name is { Length: <= MaxLength } && JobIds.IsValid(name);
}
