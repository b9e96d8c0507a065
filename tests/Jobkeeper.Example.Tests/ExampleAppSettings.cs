using System.Globalization;

namespace Jobkeeper.Example.Tests;

/// <summary>What a test starts the example app with; each set value becomes a command-line configuration override.</summary>
internal sealed record ExampleAppSettings(string DbPath)
{
    public int StepDelayMs { get; init; } = 40;

    /// <summary>Example:ExecutionLog: one line "&lt;job id&gt; &lt;attempt&gt;" per handler execution.</summary>
    public string? ExecutionLog { get; init; }

    public TimeSpan? LeaseDuration { get; init; }

    public TimeSpan? HeartbeatInterval { get; init; }

    public TimeSpan? ReapInterval { get; init; }

    public int? MaxConcurrency { get; init; }

    public TimeSpan? ShutdownGracePeriod { get; init; }

    /// <summary>Jobkeeper:Workers:AppLeaseDuration: the lease of a job the app sets running itself.</summary>
    public TimeSpan? AppLeaseDuration { get; init; }

    public IEnumerable<string> ToArguments()
    {
        yield return $"--Example:Db={DbPath}";
        yield return $"--Example:StepDelayMs={StepDelayMs.ToString(CultureInfo.InvariantCulture)}";
        if (ExecutionLog is not null)
        {
            yield return $"--Example:ExecutionLog={ExecutionLog}";
        }

        foreach (var (name, value) in new[]
        {
            ("LeaseDuration", LeaseDuration), ("HeartbeatInterval", HeartbeatInterval), ("ReapInterval", ReapInterval),
            ("ShutdownGracePeriod", ShutdownGracePeriod), ("AppLeaseDuration", AppLeaseDuration),
        })
        {
            if (value is { } span)
            {
                yield return $"--Jobkeeper:Workers:{name}={span.ToString("c", CultureInfo.InvariantCulture)}";
            }
        }

        if (MaxConcurrency is { } max)
        {
            yield return $"--Jobkeeper:Workers:MaxConcurrency={max.ToString(CultureInfo.InvariantCulture)}";
        }
    }
}
