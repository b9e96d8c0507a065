using System.Text.Json;

namespace Jobkeeper.Model;

/// <summary>
/// A change to a job with JSON merge patch meaning: absent members are left alone; progress members
/// merge one by one; labels merge and a null value removes a label; result and error are replaced.
/// </summary>
public sealed record JobPatch
{
    public JobStatus? Status { get; init; }
    public ProgressPatch? Progress { get; init; }
    public Optional<JsonElement?> Result { get; init; }
    public Optional<JobError?> Error { get; init; }
    public IReadOnlyDictionary<string, string?>? Labels { get; init; }

    public bool IsEmpty => Status is null && Progress is null && !Result.HasValue && !Error.HasValue && Labels is null;
}

/// <summary>Progress members to change; a present null clears that member.</summary>
public sealed record ProgressPatch
{
    public Optional<double?> Fraction { get; init; }
    public Optional<string?> Stage { get; init; }
    public Optional<string?> Message { get; init; }
    public Optional<long?> Current { get; init; }
    public Optional<long?> Total { get; init; }

    public JobProgress ApplyTo(JobProgress? current)
    {
        var p = current ?? new JobProgress();
        return p with
        {
            Fraction = Fraction.GetValueOrDefault(p.Fraction),
            Stage = Stage.GetValueOrDefault(p.Stage),
            Message = Message.GetValueOrDefault(p.Message),
            Current = Current.GetValueOrDefault(p.Current),
            Total = Total.GetValueOrDefault(p.Total),
        };
    }
}
