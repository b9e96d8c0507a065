using System.Text.Json;
using Jobkeeper.Model;
using Jobkeeper.Storage;

namespace Jobkeeper.Benchmarks.Harness;

/// <summary>
/// The jobs every benchmark uses: a small JSON input and two labels (a user out of 1,000 and a series
/// out of 100), one of eight types. The 1M-job store has the status mix of a store that has run for a while.
/// </summary>
public static class SampleJobs
{
    public static readonly string[] Types =
    [
        "audio.analyze", "video.render", "llm.pipeline", "transcribe", "thumbnail", "email.send", "report.build", "index.update",
    ];

    public const int Users = 1000;
    public const int Series = 100;

    /// <summary>The raw text of every job's input (about 60 bytes).</summary>
    public const string InputJson = """{"episode_id":"ep-000123","language":"en","quality":"high"}""";

    public static readonly JsonElement Input = JsonDocument.Parse(InputJson).RootElement.Clone();

    /// <summary>Labels drawn by hashing the index, so they are independent of the type (i mod 8) and of each other.</summary>
    public static Dictionary<string, string> Labels(long i) => new(StringComparer.Ordinal)
    {
        ["user"] = "u" + (Mix(i) % Users),
        ["series_id"] = "s" + (Mix(i ^ 0x5DEECE66DL) % Series),
    };

    /// <summary>SplitMix64 finaliser: a well-spread non-negative hash of the index.</summary>
    public static long Mix(long i)
    {
        var z = unchecked((ulong)i + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return (long)((z ^ (z >> 31)) >> 1);
    }

    public static NewJob New(long i) => new()
    {
        Type = Types[i % Types.Length],
        Input = Input,
        Labels = Labels(i),
    };

    /// <summary>
    /// A job as it would look some time after creation, for seeding stores through <see cref="IJobStore.InsertAsync"/>:
    /// status mix queued 10 %, running 8 %, waiting 4 %, completed 70 %, failed 5 %, cancelled 3 %.
    /// </summary>
    public static (Job Job, JobEvent Created) Seeded(long i, DateTimeOffset createdAt, Random random, JobStatus? status = null)
    {
        var s = status ?? PickStatus(random.Next(100));
        createdAt = TimeMicros.Truncate(createdAt);
        var started = s is JobStatus.Queued ? (DateTimeOffset?)null : createdAt.AddSeconds(1);
        var completed = s.IsTerminal() ? createdAt.AddSeconds(30 + random.Next(600)) : (DateTimeOffset?)null;
        var job = new Job
        {
            Id = JobIds.NewId(createdAt),
            Type = Types[i % Types.Length],
            Status = s,
            Input = Input,
            Labels = Labels(i),
            Progress = s is JobStatus.Running or JobStatus.Waiting ? new JobProgress { Fraction = 0.5, Stage = "working" } : null,
            Attempt = s is JobStatus.Queued ? 0 : 1,
            MaxAttempts = 3,
            CreatedAt = createdAt,
            UpdatedAt = completed ?? started ?? createdAt,
            StartedAt = started,
            CompletedAt = completed,
            RunAt = createdAt,
            Version = s is JobStatus.Queued ? 1 : 3,
        };
        var created = new JobEvent { JobId = job.Id, Type = JobEventTypes.Created, At = createdAt, Actor = "seed", Version = 1 };
        return (job, created);
    }

    private static JobStatus PickStatus(int percent) => percent switch
    {
        < 10 => JobStatus.Queued,
        < 18 => JobStatus.Running,
        < 22 => JobStatus.Waiting,
        < 92 => JobStatus.Completed,
        < 97 => JobStatus.Failed,
        _ => JobStatus.Cancelled,
    };
}
