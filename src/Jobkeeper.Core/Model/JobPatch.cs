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

    /// <summary>
    /// The lease of a running job from now (1 s to <see cref="JobValidator.MaxAppLease"/>): how long it may go without
    /// an update before it is recovered. Null: the job's own lease length, or the app-driven default when this patch
    /// sets it running. Only for a job that is (or this patch sets) running.
    /// </summary>
    public TimeSpan? Lease { get; init; }

    /// <summary>
    /// Who drives the job when this patch sets it running, shown as its lease owner. Null: this process, whose
    /// <see cref="JobManager"/> then renews the lease while the process lives (the HTTP API names the caller instead).
    /// </summary>
    public string? LeaseOwner { get; init; }

    public bool IsEmpty => Status is null && Progress is null && !Result.HasValue && !Error.HasValue && Labels is null && Lease is null;
}

/// <summary>
/// The lease an update gives a job it sets running: its owner, a fresh fencing token and the default length. Renewals
/// of a job already running use the job's own length.
/// </summary>
public sealed record AppLease(string Owner, string Token, TimeSpan Duration);

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
