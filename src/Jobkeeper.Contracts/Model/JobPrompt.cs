using System.Text.Json;

namespace Jobkeeper.Model;

/// <summary>
/// A question a job asks a person, kept on the job so it survives restarts. Open until answered (or until
/// it expires); once answered it stays as the record of who answered what, when and why, and a handler
/// asking the same <see cref="Key"/> again gets the stored answer at once.
/// </summary>
public sealed record JobPrompt
{
    public required string Key { get; init; }
    public required string Question { get; init; }
    /// <summary>The allowed answers (strings), or null.</summary>
    public IReadOnlyList<string>? Options { get; init; }
    /// <summary>A JSON schema the answer must satisfy, or null.</summary>
    public JsonElement? Schema { get; init; }
    public required DateTimeOffset AskedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>What happens at <see cref="ExpiresAt"/> without an answer: <c>fail</c> the job, or continue with <c>default</c>.</summary>
    public string? OnExpiry { get; init; }
    public JsonElement? DefaultAnswer { get; init; }
    public string? AskedBy { get; init; }

    public JsonElement? Answer { get; init; }
    public double? Confidence { get; init; }
    /// <summary>Who answered: with API keys the key's name (see <c>JobActor</c>).</summary>
    public string? AnsweredBy { get; init; }
    /// <summary>The name the person who answered gave for themselves beside <see cref="AnsweredBy"/>, unverified.</summary>
    public string? AnsweredByDisplayName { get; init; }
    public DateTimeOffset? AnsweredAt { get; init; }
    public string? Reason { get; init; }
    /// <summary>True when the answer is the default, given because the prompt expired.</summary>
    public bool? Expired { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsOpen => AnsweredAt is null;
}

/// <summary>What a prompt does when it expires unanswered.</summary>
public static class PromptExpiry
{
    public const string Fail = "fail";
    public const string Default = "default";
}
