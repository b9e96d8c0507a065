using System.Collections.Concurrent;
using System.Text.Json;
using Jobkeeper.Hosting;
using Jobkeeper.Model;
using Jobkeeper.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// A real host over a real SQLite file running the worker engine (<c>AddJobkeeper(...).AddHandler(...)</c>)
/// on a <see cref="TestClock"/>. Polling is set to an hour so that nothing moves unless a signal or the
/// test's clock moves it; the reaper looks every second of fake time.
/// </summary>
internal sealed class WorkerHost : IAsyncDisposable
{
    public const string WorkerId = "test-worker";
    public static readonly TimeSpan ReapInterval = TimeSpan.FromSeconds(1);

    private readonly IHost _host;
    private Task? _stopping;

    private WorkerHost(IHost host, TestClock time, LogRecorder logs)
    {
        _host = host;
        Time = time;
        Logs = logs;
    }

    public TestClock Time { get; }

    public LogRecorder Logs { get; }

    public IServiceProvider Services => _host.Services;

    public JobManager Manager => _host.Services.GetRequiredService<JobManager>();

    /// <summary>The store itself, under the cache.</summary>
    public Jobkeeper.Storage.IJobStore Store => _host.Services.GetRequiredService<Jobkeeper.Storage.IJobStore>();

    public WorkQueue Queue => _host.Services.GetRequiredService<WorkQueue>();

    public JobkeeperOptions Options => _host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<JobkeeperOptions>>().Value;

    public static async Task<WorkerHost> StartAsync(string path, Action<JobkeeperBuilder>? handlers = null, Action<JobWorkerOptions>? workers = null,
        Action<IServiceCollection>? services = null)
    {
        var time = new TestClock();
        var logs = new LogRecorder();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddProvider(logs);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        builder.Services.AddSingleton<TimeProvider>(time);
        services?.Invoke(builder.Services);
        var jobkeeper = builder.Services.AddJobkeeper(o =>
        {
            o.UseSqlite(path);
            o.Workers.WorkerId = WorkerId;
            o.Workers.PollInterval = TimeSpan.FromHours(1);
            o.Workers.ReapInterval = ReapInterval;
            workers?.Invoke(o.Workers);
        });
        handlers?.Invoke(jobkeeper);
        var host = builder.Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new WorkerHost(host, time, logs);
    }

    public Task<Job> CreateAsync(string type, string? id = null, string? inputJson = null, int priority = 0, DateTimeOffset? runAt = null, int? maxAttempts = null,
        string? queue = null) =>
        Manager.CreateAsync(new NewJob
        {
            Type = type,
            Queue = queue,
            Id = id,
            Input = inputJson is null ? null : JsonDocument.Parse(inputJson).RootElement.Clone(),
            Priority = priority,
            RunAt = runAt,
            MaxAttempts = maxAttempts,
        });

    /// <summary>The job as the store has it (not the cache).</summary>
    public async Task<Job> ReadStoredAsync(string id) =>
        await Store.GetAsync(id, CancellationToken.None) ?? throw new InvalidOperationException($"Job '{id}' is not in the store.");

    public async Task<IReadOnlyList<JobEvent>> EventsAsync(string id) => await Manager.GetEventsAsync(id);

    /// <summary>Polls the job (real-time deadline) until <paramref name="done"/> holds; the fake clock is not touched.</summary>
    public Task<Job> WaitForAsync(string id, Func<Job, bool> done, string what) =>
        Poll.UntilAsync(async () => await ReadStoredAsync(id), done, $"job '{id}' to be {what}", Describe);

    public Task<Job> WaitForStatusAsync(string id, JobStatus status) =>
        WaitForAsync(id, j => j.Status == status, status.ToName());

    public string Describe(Job job) =>
        $"{job.Status.ToName()} attempt {job.Attempt}/{job.MaxAttempts} v{job.Version} run_at +{(job.RunAt - TestClock.Origin).TotalSeconds} s " +
        $"lease {job.LeaseOwner}@{(job.LeaseExpiresAt is { } e ? $"+{(e - TestClock.Origin).TotalSeconds} s" : "-")} error {job.Error?.Code}; " +
        $"clock +{Time.Elapsed.TotalSeconds} s; log: {Logs.Tail()}";

    /// <summary>Stops the host. Handlers still running after the shutdown grace need the fake clock moved: see <see cref="DisposeAsync"/>.</summary>
    public Task StopAsync() => _stopping ??= _host.StopAsync();

    public async ValueTask DisposeAsync()
    {
        var stopping = StopAsync();
        // A handler left running would hold the shutdown for its grace period of fake time: move the clock on.
        var rounds = 0;
        while (!stopping.IsCompleted && rounds++ < 200)
        {
            await Task.WhenAny(stopping, Task.Delay(10));
            if (!stopping.IsCompleted)
            {
                Time.Advance(TimeSpan.FromSeconds(5));
            }
        }

        await stopping;
        _host.Dispose();
    }

    /// <summary>Keeps what the host logs, to show in a failure and to assert on.</summary>
    internal sealed class LogRecorder : ILoggerProvider
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Category, string Message)> _entries = new();

        public IReadOnlyList<(LogLevel Level, string Category, string Message)> Entries => _entries.ToArray();

        public IEnumerable<string> AtLeast(LogLevel level) => _entries.Where(e => e.Level >= level).Select(e => e.Message);

        public string Tail(int count = 5) => string.Join(" | ", _entries.TakeLast(count).Select(e => $"{e.Level}: {e.Message}"));

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(LogRecorder recorder, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    recorder._entries.Enqueue((logLevel, category, formatter(state, exception) + (exception is null ? "" : $" [{exception.GetType().Name}: {exception.Message}]")));
                }
            }
        }
    }
}
