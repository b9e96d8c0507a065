using Microsoft.Extensions.DependencyInjection;
using System.Collections.Concurrent;
using Jobkeeper.Workers;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>Counts handlers running at once and remembers the most seen.</summary>
internal sealed class ConcurrencyMeter
{
    private int _current;
    private int _max;

    public int Current => Volatile.Read(ref _current);

    public int Max => Volatile.Read(ref _max);

    public IDisposable Enter()
    {
        var now = Interlocked.Increment(ref _current);
        int seen;
        while ((seen = Volatile.Read(ref _max)) < now && Interlocked.CompareExchange(ref _max, now, seen) != seen)
        {
        }

        return new Exit(this);
    }

    private sealed class Exit(ConcurrencyMeter meter) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                Interlocked.Decrement(ref meter._current);
            }
        }
    }
}

/// <summary>A signal a handler gives (started, saw cancellation...), awaited by the test with a deadline.</summary>
internal sealed class Signal
{
    private readonly TaskCompletionSource _source = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsSet => _source.Task.IsCompleted;

    public void Set() => _source.TrySetResult();

    public Task WaitAsync(string what) => Poll.Within(_source.Task, what);

    /// <summary>For handlers: waits for the test to set it, ignoring cancellation.</summary>
    public Task Task => _source.Task;
}

internal static class HandlerWork
{
    /// <summary>What a cooperative handler does while it has nothing to do: wait until it is told to stop.</summary>
    public static Task UntilCancelled(CancellationToken cancellationToken) =>
        new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously).Task.WaitAsync(cancellationToken);
}

public sealed record EchoInput(string UserName);

public sealed record EchoResult(string Shout, int Attempt, string JobId);

public sealed record GreetingInput(string Name, int Times, string? ExtraPunctuation);

public sealed record GreetingResult(string Greeting, int Attempt, int GreeterInstance);

/// <summary>Singleton: what the typed handlers did.</summary>
public sealed class GreetingLog
{
    private int _greeters;
    private int _handlers;

    public ConcurrentQueue<string> Greeted { get; } = new();

    public int Handlers => Volatile.Read(ref _handlers);

    public int NewGreeter() => Interlocked.Increment(ref _greeters);

    public void HandlerCreated() => Interlocked.Increment(ref _handlers);
}

/// <summary>Scoped: a new one per attempt.</summary>
public sealed class Greeter(GreetingLog log)
{
    public int Instance { get; } = log.NewGreeter();

    public string Greet(string name, string? punctuation) => $"Hello, {name}{punctuation}";
}

/// <summary>A typed handler, not registered in DI itself: built per attempt with its dependencies.</summary>
public sealed class GreetingHandler : IJobHandler<GreetingInput>
{
    private readonly Greeter _greeter;
    private readonly GreetingLog _log;

    public GreetingHandler(Greeter greeter, GreetingLog log)
    {
        _greeter = greeter;
        _log = log;
        log.HandlerCreated();
    }

    public Task<object?> HandleAsync(JobContext<GreetingInput> context, CancellationToken cancellationToken)
    {
        var input = context.Input;
        switch (input.Name)
        {
            case "":
                throw new PermanentJobFailureException("A name is needed.", "empty_name");
            case "?":
                throw new PermanentJobFailureException("Nobody to greet.");
        }

        var greeting = string.Join(' ', Enumerable.Repeat(_greeter.Greet(input.Name, input.ExtraPunctuation), input.Times));
        _log.Greeted.Enqueue(context.JobId);
        return Task.FromResult<object?>(new GreetingResult(greeting, context.Attempt, _greeter.Instance));
    }
}

/// <summary>
/// A host with one worker slot held by a "block" job until <see cref="Release"/>, so that "work" jobs
/// queue up behind it; the ids of the "work" jobs are recorded in the order they run.
/// </summary>
internal sealed class OneSlotWorker
{
    private readonly Signal _blocker = new();
    private readonly Signal _blockerStarted = new();

    private OneSlotWorker(WorkerHost host) => Host = host;

    public WorkerHost Host { get; }

    public ConcurrentQueue<string> Ran { get; } = new();

    public static async Task<OneSlotWorker> StartAsync(string path)
    {
        OneSlotWorker? worker = null;
        var host = await WorkerHost.StartAsync(path,
            handlers: b => b
                .AddHandler("block", async (_, _) =>
                {
                    worker!._blockerStarted.Set();
                    await worker._blocker.Task;
                })
                .AddHandler("work", (ctx, _) =>
                {
                    worker!.Ran.Enqueue(ctx.JobId);
                    return Task.CompletedTask;
                }),
            workers: w => w.MaxConcurrency = 1);
        worker = new OneSlotWorker(host);
        await host.CreateAsync("block", id: "blocker");
        await worker._blockerStarted.WaitAsync("the blocker to start");
        return worker;
    }

    public void Release() => _blocker.Set();
}
