using System.Text.Json;
using Jobkeeper.Model;

namespace Jobkeeper.Workers;

/// <summary>What a handler gets for one attempt of one job: the job, its input, and a way to report progress.</summary>
public class JobContext
{
    private readonly WorkQueue _queue;
    private readonly TimeSpan _lease;

    internal JobContext(Job job, string leaseToken, WorkQueue queue, TimeSpan lease, IServiceProvider services, JsonSerializerOptions serializerOptions,
        CancellationToken cancellationToken)
    {
        Job = job;
        LeaseToken = leaseToken;
        _queue = queue;
        _lease = lease;
        Services = services;
        SerializerOptions = serializerOptions;
        CancellationToken = cancellationToken;
        Checkpoint = new JobCheckpoint(this, queue);
    }

    /// <summary>
    /// Small JSON state saved on the job, for the work before a question: a handler runs again from the top
    /// when an answer arrives, so it loads what it saved and skips what is done.
    /// </summary>
    public JobCheckpoint Checkpoint { get; }

    /// <summary>The job as it was claimed for this attempt.</summary>
    public Job Job { get; }

    public string JobId => Job.Id;

    public string Type => Job.Type;

    /// <summary>Which attempt this is, from 1.</summary>
    public int Attempt => Job.Attempt;

    /// <summary>The input as JSON; see <see cref="GetInput{T}"/> for a typed copy.</summary>
    public JsonElement? InputJson => Job.Input;

    /// <summary>The DI scope of this attempt.</summary>
    public IServiceProvider Services { get; }

    /// <summary>Fires when the job is cancelled, times out, the lease is lost or the app shuts down.</summary>
    public CancellationToken CancellationToken { get; }

    internal string LeaseToken { get; }

    internal JsonSerializerOptions SerializerOptions { get; }

    /// <summary>
    /// Asks a person. The first time <paramref name="key"/> is asked, the question is stored, the job becomes
    /// <c>waiting</c>, and this throws <see cref="JobWaitingException"/> to end the attempt (let it through:
    /// the worker slot is freed and nothing is counted as failed). When the answer arrives the job is queued
    /// and the handler runs again from the top; this call then returns the stored answer at once. Code
    /// before a question therefore runs again on resume: keep it idempotent, or save its results with
    /// <see cref="Checkpoint"/>.
    /// </summary>
    /// <param name="options">Allowed answers (strings), or null.</param>
    /// <param name="schema">A JSON schema the answer must satisfy, or null.</param>
    /// <param name="expiresIn">How long a person has to answer; null for no limit.</param>
    /// <param name="onExpiry"><see cref="PromptExpiry.Fail"/> (default) or <see cref="PromptExpiry.Default"/>, with <paramref name="defaultAnswer"/>.</param>
    public async Task<JobPrompt> AskAsync(string key, string question, IReadOnlyList<string>? options = null, JsonElement? schema = null,
        TimeSpan? expiresIn = null, string? onExpiry = null, object? defaultAnswer = null, CancellationToken cancellationToken = default)
    {
        if (Job.Prompts.FirstOrDefault(p => p.Key == key) is { IsOpen: false } answered)
        {
            return answered;
        }

        var request = new PromptRequest
        {
            Key = key,
            Question = question,
            Options = options,
            Schema = schema,
            ExpiresIn = expiresIn,
            OnExpiry = onExpiry,
            DefaultAnswer = defaultAnswer is null ? null : ToJson(defaultAnswer),
        };
        var (job, prompt) = await _queue.AskAsync(Job.Id, LeaseToken, request, cancellationToken).ConfigureAwait(false);
        if (prompt is null)
        {
            throw new OperationCanceledException($"Job '{Job.Id}' was cancelled ({job.Status.ToName()}) instead of asking '{key}'.");
        }

        return prompt.IsOpen ? throw new JobWaitingException(Job.Id, key) : prompt;
    }

    /// <summary>Like <see cref="AskAsync"/>, with the answer deserialised as <typeparamref name="T"/>.</summary>
    public async Task<T?> AskAsync<T>(string key, string question, IReadOnlyList<string>? options = null, JsonElement? schema = null,
        TimeSpan? expiresIn = null, string? onExpiry = null, object? defaultAnswer = null, CancellationToken cancellationToken = default)
    {
        var prompt = await AskAsync(key, question, options, schema, expiresIn, onExpiry, defaultAnswer, cancellationToken).ConfigureAwait(false);
        return prompt.Answer is { } answer ? answer.Deserialize<T>(SerializerOptions) : default;
    }

    internal JsonElement ToJson(object value) =>
        value is JsonElement element ? element : JsonSerializer.SerializeToElement(value, value.GetType(), SerializerOptions);

    /// <summary>A copy for a typed context: the same job, lease, scope and token.</summary>
    private protected JobContext(JobContext other)
        : this(other.Job, other.LeaseToken, other._queue, other._lease, other.Services, other.SerializerOptions, other.CancellationToken)
    {
    }

    /// <summary>The input deserialised as <typeparamref name="T"/> (snake_case by default); default when there is none.</summary>
    public T? GetInput<T>() => Job.Input is { } input ? input.Deserialize<T>(SerializerOptions) : default;

    /// <summary>
    /// Records progress; members left null keep their last value. Also renews the lease. Throws
    /// <see cref="Errors.LeaseLostException"/> when this attempt no longer owns the job: stop then.
    /// </summary>
    public async Task ReportProgressAsync(double? fraction = null, string? stage = null, string? message = null, long? current = null, long? total = null,
        CancellationToken cancellationToken = default)
    {
        var patch = new ProgressPatch
        {
            Fraction = fraction is null ? default : new Optional<double?>(true, fraction),
            Stage = stage is null ? default : new Optional<string?>(true, stage),
            Message = message is null ? default : new Optional<string?>(true, message),
            Current = current is null ? default : new Optional<long?>(true, current),
            Total = total is null ? default : new Optional<long?>(true, total),
        };
        await _queue.ReportProgressAsync(Job.Id, LeaseToken, patch, _lease, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>The context of a typed handler: <see cref="Input"/> is already deserialised.</summary>
public sealed class JobContext<TInput> : JobContext
{
    internal JobContext(JobContext context, TInput input)
        : base(context)
    {
        Input = input;
    }

    public TInput Input { get; }
}
