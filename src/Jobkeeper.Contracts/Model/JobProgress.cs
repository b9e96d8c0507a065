namespace Jobkeeper.Model;

/// <summary>How far a job has come. Every member is optional; <see cref="Fraction"/> is 0..1.</summary>
public sealed record JobProgress
{
    public double? Fraction { get; init; }
    public string? Stage { get; init; }
    public string? Message { get; init; }
    public long? Current { get; init; }
    public long? Total { get; init; }
}
