using System.Text.Json;

namespace Jobkeeper.Model;

/// <summary>What a caller gives to create a job; everything but <see cref="Type"/> is optional.</summary>
public sealed record NewJob
{
    public required string Type { get; init; }
    /// <summary>Client-chosen id; a time-ordered UUIDv7 when absent.</summary>
    public string? Id { get; init; }
    public JsonElement? Input { get; init; }
    public IReadOnlyDictionary<string, string>? Labels { get; init; }
    public int Priority { get; init; }
    public DateTimeOffset? RunAt { get; init; }
    public int? MaxAttempts { get; init; }
}
