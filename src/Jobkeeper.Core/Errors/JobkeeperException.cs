using Jobkeeper.Model;

namespace Jobkeeper.Errors;

/// <summary>Base of the errors <see cref="JobManager"/> raises for requests it refuses; each maps to one HTTP status.</summary>
public abstract class JobkeeperException(string message) : Exception(message);

/// <summary>No job has this id. An id no job can have (too long, other characters) is named shortened, with the rule.</summary>
public sealed class JobNotFoundException(string jobId)
    : JobkeeperException(JobIds.IsValid(jobId)
        ? $"No job with id '{jobId}' exists."
        : $"No job with id '{(jobId.Length <= 60 ? jobId : jobId[..60] + "…")}' exists: a job id is 1–{JobIds.MaxLength} characters of A-Z a-z 0-9 . _ : -")
{
    public string JobId { get; } = jobId;
}

/// <summary>A job with this id exists already.</summary>
public sealed class DuplicateJobException(string jobId)
    : JobkeeperException($"A job with id '{jobId}' already exists. Choose another id, or omit it to have one generated.")
{
    public string JobId { get; } = jobId;
}

/// <summary>The caller expected a version the job no longer has (compare-and-set lost).</summary>
public sealed class VersionMismatchException(string jobId, long expected, long actual)
    : JobkeeperException($"Job '{jobId}' is at version {actual}, not {expected}. Read it again and retry with the current version.")
{
    public string JobId { get; } = jobId;
    public long Expected { get; } = expected;
    public long Actual { get; } = actual;
}

/// <summary>The requested status may not follow the current one.</summary>
public sealed class InvalidTransitionException(string jobId, JobStatus from, JobStatus to, IReadOnlyList<JobStatus> allowed)
    : JobkeeperException(
        $"Job '{jobId}' cannot move from '{from.ToName()}' to '{to.ToName()}'. " +
        (allowed.Count == 0
            ? $"'{from.ToName()}' is final."
            : $"From '{from.ToName()}' it may move to: {string.Join(", ", allowed.Select(s => s.ToName()))}."))
{
    public string JobId { get; } = jobId;
    public JobStatus From { get; } = from;
    public JobStatus To { get; } = to;
}

/// <summary>The request does not fit the job's current state (other than a status transition).</summary>
public sealed class JobStateConflictException(string message) : JobkeeperException(message);

/// <summary>A value given by the caller is not acceptable; <see cref="Field"/> names it (snake_case, dotted).</summary>
public sealed class JobValidationException(string field, string problem)
    : JobkeeperException($"{field}: {problem}")
{
    public string Field { get; } = field;
    public string Problem { get; } = problem;
}

/// <summary>The store cannot be reached or failed; the request may be retried.</summary>
public class StoreUnavailableException(string message, Exception? inner = null)
    : Exception(message, inner);

/// <summary>
/// A worker acted on a job under a lease it no longer holds: the job finished, was cancelled, or its
/// lease expired and it went back to the queue. The worker must stop working on it; nothing was changed.
/// </summary>
public sealed class LeaseLostException(string jobId, string reason)
    : JobkeeperException($"The lease token for job '{jobId}' is not current: {reason} Stop working on this job; nothing was changed.")
{
    public string JobId { get; } = jobId;
}

/// <summary>An answer that does not fit its prompt (not one of the options, or failing the schema); says why.</summary>
public sealed class AnswerRejectedException(string jobId, string key, string why)
    : JobkeeperException($"The answer to '{key}' of job '{jobId}' was not accepted: {why}")
{
    public string JobId { get; } = jobId;
    public string Key { get; } = key;
    public string Why { get; } = why;
}

/// <summary>No queue has this name: it has no jobs, no stored settings and was not declared.</summary>
public sealed class QueueNotFoundException(string queue)
    : JobkeeperException($"No queue named '{(queue.Length <= 100 ? queue : queue[..100] + "…")}' exists: a queue exists once it has a job, "
        + "or once it is declared (Jobkeeper:Queues:<name> in configuration, or JobkeeperOptions.Queues in code).")
{
    public string Queue { get; } = queue;
}

/// <summary>No schedule has this name.</summary>
public sealed class ScheduleNotFoundException(string name)
    : JobkeeperException($"No schedule named '{(name.Length <= 100 ? name : name[..100] + "…")}' exists; GET /api/v1/schedules lists them.")
{
    public string Name { get; } = name;
}

/// <summary>A schedule with this name exists already (a create does not replace it: change it with PATCH).</summary>
public sealed class ScheduleExistsException(string name)
    : JobkeeperException($"A schedule named '{(name.Length <= 100 ? name : name[..100] + "…")}' exists already; change it with PATCH /api/v1/schedules/{{name}}, or delete it first.")
{
    public string Name { get; } = name;
}
