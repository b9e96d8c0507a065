using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Jobkeeper.Benchmarks.Harness;
using Perfolizer.Horology;

namespace Jobkeeper.Benchmarks.Micro;

/// <summary>
/// In-process (no child project to generate and build, so it runs as-is on .NET 10 and shares the cached
/// 1M-job store), 3 warm-up and 15 measured iterations of about 250 ms each; reports mean, median, P95
/// and allocations. [Config] merges this with BenchmarkDotNet's defaults (console
/// logger, GitHub markdown and CSV exporters), which write to bench/.results/bdn/results.
/// The in-process toolchain runs [GlobalSetup]/[GlobalCleanup] synchronously (an async setup is not
/// awaited before synchronous benchmarks start), so the suites' setups block on their async work there,
/// outside any measurement.
/// </summary>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(15)
            .WithIterationTime(TimeInterval.FromMilliseconds(250))
            .WithId("InProcess"));
        AddColumn(StatisticColumn.Median, StatisticColumn.P95, StatisticColumn.OperationsPerSecond);
        AddDiagnoser(MemoryDiagnoser.Default);
        ArtifactsPath = Path.Combine(BenchPaths.Results, "bdn");
        WithOptions(ConfigOptions.DisableLogFile);
    }
}
