using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Workers;

/// <summary>One job type's in-process handler: how to build its context and how to call it.</summary>
public sealed class JobHandlerRegistration
{
    private readonly Func<JobContext, JobContext> _typedContext;
    private readonly Func<JobContext, CancellationToken, Task<object?>> _invoke;

    private JobHandlerRegistration(string type, JobHandlerOptions options, Func<JobContext, JobContext> typedContext,
        Func<JobContext, CancellationToken, Task<object?>> invoke)
    {
        Type = type;
        Options = options;
        _typedContext = typedContext;
        _invoke = invoke;
    }

    public string Type { get; }

    public JobHandlerOptions Options { get; }

    /// <summary>Runs the handler; a typed handler's input is read first, and input that does not fit fails the job for good.</summary>
    internal Task<object?> InvokeAsync(JobContext context, CancellationToken cancellationToken) =>
        _invoke(_typedContext(context), cancellationToken);

    internal static JobHandlerRegistration ForDelegate(string type, JobHandlerOptions options, Func<JobContext, CancellationToken, Task<object?>> handler) =>
        new(type, options, context => context, handler);

    internal static JobHandlerRegistration ForHandler<THandler, TInput>(string type, JobHandlerOptions options)
        where THandler : class, IJobHandler<TInput> =>
        new(type, options,
            context =>
            {
                TInput input;
                try
                {
                    input = context.GetInput<TInput>()!;
                }
                catch (JsonException ex)
                {
                    throw new PermanentJobFailureException(
                        $"The input does not fit {typeof(TInput).Name}: {ex.Message}", "invalid_input", ex);
                }

                return new JobContext<TInput>(context, input);
            },
            (context, cancellationToken) =>
            {
                var handler = ActivatorUtilities.GetServiceOrCreateInstance<THandler>(context.Services);
                return handler.HandleAsync((JobContext<TInput>)context, cancellationToken);
            });
}
