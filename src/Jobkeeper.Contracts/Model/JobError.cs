using System.Text.Json;

namespace Jobkeeper.Model;

/// <summary>Why a job failed: a human-readable message, an optional machine code and any JSON details.</summary>
public sealed record JobError
{
    public required string Message { get; init; }
    public string? Code { get; init; }
    public JsonElement? Details { get; init; }
}
