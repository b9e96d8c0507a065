using System.Text.Json;
using Jobkeeper.Contracts;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.Client;

/// <summary>Settings of <see cref="JobkeeperClient.RunWorkerAsync"/>.</summary>
public sealed record WorkerLoopOptions
{
    /// <summary>Shown as the lease owner.</summary>
    public string WorkerId { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Jobs run at once.</summary>
    /// <summary>Only jobs in these queues (with no types given, every type in them); null: any queue.</summary>
    public IReadOnlyList<string>? Queues { get; init; }

    public int Concurrency { get; init; } = 4;

    public int LeaseSeconds { get; init; } = 30;

    /// <summary>How long a claim waits on the server for work (long poll).</summary>
    public double WaitSeconds { get; init; } = 20;

    /// <summary>How results are written and inputs read (snake_case, as the API).</summary>
    public JsonSerializerOptions SerializerOptions { get; init; } = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}

/// <summary>A job being run by <see cref="JobkeeperClient.RunWorkerAsync"/>: its data, and progress reporting under its lease.</summary>
public sealed class WorkerJob
{
    private readonly JobkeeperClient _client;
    private readonly WorkerLoopOptions _options;

    internal WorkerJob(WorkItem item, JobkeeperClient client, WorkerLoopOptions options)
    {
        Item = item;
        _client = client;
        _options = options;
    }

    public WorkItem Item { get; }

    public string Id => Item.Id;

    public T? GetInput<T>() => Item.Input is { } input ? input.Deserialize<T>(_options.SerializerOptions) : default;

    /// <summary>Records progress (members left null keep their value) and renews the lease.</summary>
    public Task ReportProgressAsync(double? fraction = null, string? stage = null, string? message = null, long? current = null, long? total = null,
        CancellationToken cancellationToken = default) =>
        _client.ReportProgressAsync(Item, new ProgressRequest
        {
            LeaseToken = Item.LeaseToken,
            LeaseSeconds = _options.LeaseSeconds,
            Fraction = Given(fraction),
            Stage = Given(stage),
            Message = Given(message),
            Current = Given(current),
            Total = Given(total),
        }, cancellationToken);

    /// <summary>A member the caller gave (left out of the request when null: progress reports change what they name).</summary>
    private static Optional<T?> Given<T>(T? value) => value is null ? default : new(true, value);
}
