using System.Globalization;
using BenchmarkDotNet.Running;
using Jobkeeper.Benchmarks.Harness;
using Jobkeeper.Benchmarks.Load;
using Jobkeeper.Benchmarks.Micro;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
var suite = args.Length > 0 ? args[0] : "help";
var rest = args.Skip(1).ToArray();

string? TextOption(string name)
{
    var index = Array.IndexOf(rest, name);
    return index >= 0 && index + 1 < rest.Length ? rest[index + 1] : null;
}

int Option(string name, int fallback) => TextOption(name) is { } text ? int.Parse(text, CultureInfo.InvariantCulture) : fallback;

switch (suite)
{
    case "store":
        await MillionJobStore.EnsureAsync(Console.Out);
        return 0;
    case "get":
        BenchmarkRunner.Run<GetBenchmarks>(args: rest);
        return 0;
    case "writes":
        BenchmarkRunner.Run<WriteBenchmarks>(args: rest);
        return 0;
    case "list":
        BenchmarkRunner.Run<ListBenchmarks>(args: rest);
        return 0;
    case "micro":
        BenchmarkRunner.Run<GetBenchmarks>(args: rest);
        BenchmarkRunner.Run<WriteBenchmarks>(args: rest);
        BenchmarkRunner.Run<ListBenchmarks>(args: rest);
        return 0;
    case "throughput":
    {
        var report = new Report("throughput");
        await ThroughputSuite.RunAsync(report, Option("--rounds", 3), Option("--jobs", 50_000), TextOption("--only"));
        report.Save();
        return 0;
    }

    case "flow":
    {
        var report = new Report("flow");
        var store = TextOption("--store");
        if (store is not (null or "sqlite" or "postgres"))
        {
            Console.Error.WriteLine($"--store is sqlite or postgres, not '{store}'");
            return 2;
        }

        if (store is null or "sqlite")
        {
            await FlowSuite.RunAsync(report, Option("--rounds", 3), Option("--jobs", 20_000), Option("--workers", 8), postgres: false);
        }

        if (store is null or "postgres" && Environment.GetEnvironmentVariable("PG_BENCH") is { Length: > 0 })
        {
            await FlowSuite.RunAsync(report, Option("--rounds", 3), Option("--jobs", 20_000), Option("--workers", 8), postgres: true);
        }

        report.Save();
        return 0;
    }

    case "search-cost":
    {
        var report = new Report("search-cost");
        await SearchCostSuite.RunAsync(report, Option("--rounds", 3), Option("--jobs", 20_000), postgres: false);
        if (Environment.GetEnvironmentVariable("PG_BENCH") is { Length: > 0 })
        {
            await SearchCostSuite.RunAsync(report, Option("--rounds", 3), Option("--jobs", 20_000), postgres: true);
        }

        report.Save();
        return 0;
    }

    case "enqueue":
    {
        var report = new Report("enqueue");
        var store = TextOption("--store");
        if (store is null or "sqlite")
        {
            await EnqueueSuite.RunAsync(report, Option("--rounds", 3), Option("--jobs", 20_000), Option("--bulk", 100_000), postgres: false);
        }

        if (store is null or "postgres" && Environment.GetEnvironmentVariable("PG_BENCH") is { Length: > 0 })
        {
            await EnqueueSuite.RunAsync(report, Option("--rounds", 3), Option("--jobs", 20_000), Option("--bulk", 100_000), postgres: true);
        }

        report.Save();
        return 0;
    }

    case "workers":
    {
        var report = new Report("workers");
        await WorkersSuite.RunAsync(report, Option("--rounds", 3), Option("--jobs", 50_000), Option("--concurrency", 256));
        report.Save();
        return 0;
    }

    case "http-workers":
    {
        var report = new Report("http-workers");
        var server = TextOption("--server")
            ?? Path.Combine(BenchPaths.Repository, "src", "Jobkeeper.Server", "bin", "Release", "net10.0", "jobkeeper.dll");
        await HttpWorkersSuite.RunAsync(report, server, Option("--rounds", 3), Option("--jobs", 30_000), Option("--workers", 8),
            Option("--batch", 50), Option("--port", 5482));
        report.Save();
        return 0;
    }

    case "client-worker":
    {
        var url = TextOption("--url") ?? throw new ArgumentException("--url http://127.0.0.1:PORT/ of a running server is required");
        await ClientWorkerSuite.RunAsync(new Uri(url), Option("--jobs", 20_000), Option("--concurrency", 64));
        return 0;
    }

    case "postgres":
    {
        var report = new Report("postgres");
        var instances = Option("--instances", 0) is > 0 and var n ? new[] { n } : new[] { 1, 3 };
        await PostgresSuite.RunAsync(report, Option("--rounds", 3), Option("--jobs", 50_000), Option("--concurrency", 256), !rest.Contains("--no-scale"),
            instances, TextOption("--only"), Option("--limit", 0));
        report.Save();
        return 0;
    }

    case "cleanup":
    {
        var retention = rest.Contains("--retention");
        var report = new Report(Option("--external-checkpoint-ms", 0) > 0 ? "cleanup-external-checkpoint" : retention ? "cleanup-retention" : "cleanup");
        var sizesIndex = Array.IndexOf(rest, "--batch-sizes");
        var sizes = sizesIndex >= 0 ? rest[sizesIndex + 1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : new[] { new Jobkeeper.JobkeeperOptions().CleanupBatchSize, 100 }.Distinct().ToArray();
        await CleanupSuite.RunAsync(report, Option("--rounds", 3), Option("--jobs", 100_000), sizes, Option("--external-checkpoint-ms", 0), retention);
        report.Save();
        return 0;
    }

    case "experiments":
    {
        var report = new Report("experiments");
        await ExperimentsSuite.RunAsync(report, rest.Length > 0 && !rest[0].StartsWith("--", StringComparison.Ordinal) ? rest[0] : "all", Option("--rounds", 3));
        report.Save();
        return 0;
    }

    default:
        Console.WriteLine("""
            Jobkeeper benchmarks. Usage: dotnet run -c Release --project bench/Jobkeeper.Benchmarks -- <suite> [options]
              store       build the cached 1,000,000-job store under bench/.data (other suites build it when missing)
              get         BenchmarkDotNet: hot/cold get on the 1M store
              writes      BenchmarkDotNet: sequential durable create and update, raw SQLite create
              list        BenchmarkDotNet: list 100 with filters on the 1M store
              micro       get + writes + list
              throughput  custom: 64 producers vs raw batched INSERT [--rounds 3] [--jobs 50000] [--only <variant text>]
              flow        custom: what flow control costs: no-op drains with no limits, a global limit that does not bind, 1,000 partitions;
                          SQLite, and PostgreSQL when PG_BENCH is set [--rounds 3] [--jobs 20000] [--workers 8] [--store sqlite|postgres]
              workers     custom: in-process no-op jobs end to end, queue drain, pickup latency [--rounds 3] [--jobs 50000] [--concurrency 256]
              http-workers custom: external HTTP workers drain a queue on a `jobkeeper serve` process
                          [--rounds 3] [--jobs 30000] [--workers 8] [--batch 50] [--port 5482] [--server path/to/jobkeeper.dll]
              client-worker custom: the .NET client's worker loop on no-op jobs against a running server, as bench/sdk-workers.sh runs it
                          --url http://127.0.0.1:PORT/ [--jobs 20000] [--concurrency 64]
              postgres    custom: creates, workers end to end, drain, pickup on PostgreSQL with 1 and 3 instances; claim/list cost up to
                          1,000,000 finished jobs (PG_BENCH=<connection string>) [--rounds 3] [--jobs 50000] [--concurrency 256] [--no-scale] [--limit N: a global limit on the drain's queue]
                          [--instances N] [--only creates,e2e,drain,pickup]
              cleanup     custom: cleanup of terminal jobs with a concurrent writer [--rounds 3] [--jobs 100000] [--batch-sizes <default>,100]
                          [--external-checkpoint-ms N: experiment, checkpoint from outside every N ms]
                          [--retention: through background retention with an archive instead of JobManager.CleanupAsync]
              experiments [writes|hops|list]  raw SQLite on schema/pragma variants; slow list shapes with extra indexes [--rounds 3]
            BenchmarkDotNet suites pass further arguments to BenchmarkDotNet (e.g. --filter '*Hot*').
            """);
        return suite == "help" ? 0 : 2;
}
