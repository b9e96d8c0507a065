using Jobkeeper.Hosting;
using Jobkeeper.Workers;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

// Beside AddJobkeeper, so that registering handlers needs no extra using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers in-process handlers: <c>services.AddJobkeeper(...).AddHandler("audio.analyze", async (ctx, ct) => ...)</c>.</summary>
public static class JobkeeperBuilderHandlerExtensions
{
    /// <summary>Runs jobs of <paramref name="type"/> with a handler that returns no result.</summary>
    public static JobkeeperBuilder AddHandler(this JobkeeperBuilder builder, string type, Func<JobContext, CancellationToken, Task> handler,
        Action<JobHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(builder, JobHandlerRegistration.ForDelegate(type, Configure(configure), async (context, cancellationToken) =>
        {
            await handler(context, cancellationToken).ConfigureAwait(false);
            return null;
        }));
    }

    /// <summary>Runs jobs of <paramref name="type"/>; the handler's return value becomes the job's result.</summary>
    public static JobkeeperBuilder AddHandler<TResult>(this JobkeeperBuilder builder, string type, Func<JobContext, CancellationToken, Task<TResult>> handler,
        Action<JobHandlerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(builder, JobHandlerRegistration.ForDelegate(type, Configure(configure),
            async (context, cancellationToken) => await handler(context, cancellationToken).ConfigureAwait(false)));
    }

    /// <summary>Runs jobs of <paramref name="type"/> with <typeparamref name="THandler"/>, resolved from a new DI scope per attempt.</summary>
    public static JobkeeperBuilder AddHandler<THandler, TInput>(this JobkeeperBuilder builder, string type, Action<JobHandlerOptions>? configure = null)
        where THandler : class, IJobHandler<TInput> =>
        Add(builder, JobHandlerRegistration.ForHandler<THandler, TInput>(type, Configure(configure)));

    private static JobHandlerOptions Configure(Action<JobHandlerOptions>? configure)
    {
        var options = new JobHandlerOptions();
        configure?.Invoke(options);
        if (options.MaxConcurrency is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(configure), "MaxConcurrency must be at least 1.");
        }

        if (options.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(configure), "Timeout must be positive.");
        }

        return options;
    }

    private static JobkeeperBuilder Add(JobkeeperBuilder builder, JobHandlerRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (string.IsNullOrWhiteSpace(registration.Type))
        {
            throw new ArgumentException("A handler needs the job type it runs.", nameof(registration));
        }

        builder.Services.AddSingleton(registration);
        builder.Services.TryAddSingleton<JobWorkerEngine>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, JobWorkerEngine>(sp => sp.GetRequiredService<JobWorkerEngine>()));
        return builder;
    }
}
