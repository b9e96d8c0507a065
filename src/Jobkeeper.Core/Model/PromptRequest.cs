using System.Text.Json;

namespace Jobkeeper.Model;

/// <summary>A question to ask: what <c>AskAsync</c> and the worker prompt route take.</summary>
public sealed record PromptRequest
{
    public required string Key { get; init; }
    public required string Question { get; init; }
    public IReadOnlyList<string>? Options { get; init; }
    public JsonElement? Schema { get; init; }
    /// <summary>How long a person has to answer; null for no limit.</summary>
    public TimeSpan? ExpiresIn { get; init; }
    /// <summary><see cref="PromptExpiry.Fail"/> (the default) or <see cref="PromptExpiry.Default"/>.</summary>
    public string? OnExpiry { get; init; }
    public JsonElement? DefaultAnswer { get; init; }

    public JobPrompt ToPrompt(DateTimeOffset now) => new()
    {
        Key = Key,
        Question = Question,
        Options = Options,
        Schema = Schema,
        AskedAt = now,
        ExpiresAt = ExpiresIn is { } e ? Storage.TimeMicros.Truncate(now + e) : null,
        OnExpiry = ExpiresIn is null ? null : OnExpiry ?? PromptExpiry.Fail,
        DefaultAnswer = DefaultAnswer,
    };
}
