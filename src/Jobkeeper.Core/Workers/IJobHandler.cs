namespace Jobkeeper.Workers;

/// <summary>
/// Runs jobs of one type with a typed input. Resolved from a fresh DI scope for every attempt (registered
/// or not), so it may depend on scoped services. The returned value becomes the job's result; an exception
/// fails the attempt.
/// </summary>
public interface IJobHandler<TInput>
{
    Task<object?> HandleAsync(JobContext<TInput> context, CancellationToken cancellationToken);
}

/// <summary>Thrown by a handler to fail a job for good: no further attempts, whatever <c>max_attempts</c> says.</summary>
public sealed class PermanentJobFailureException(string message, string? code = null, Exception? inner = null) : Exception(message, inner)
{
    public string? Code { get; } = code;
}

/// <summary>
/// Thrown by <see cref="JobContext.AskAsync"/> when a question was asked and the job now waits for the
/// answer. It ends the attempt without failing it; let it propagate out of the handler.
/// </summary>
public sealed class JobWaitingException(string jobId, string key)
    : Exception($"Job '{jobId}' is waiting for the answer to '{key}'; the handler runs again when it arrives.")
{
    public string JobId { get; } = jobId;
    public string Key { get; } = key;
}
