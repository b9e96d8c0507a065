using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Jobkeeper.Benchmarks.Harness;

/// <summary>
/// The 1,000,000-job store the listing and read benchmarks run against, cached under bench/.data between
/// runs (a marker file says it was built completely; delete bench/.data to rebuild it).
/// </summary>
public static class MillionJobStore
{
    public const int JobCount = 1_000_000;

    // Bump the version when the seeded data changes, so an old cache is not reused.
    public static string Path => BenchPaths.DataFile("store-1m-v1.db");

    private static string Marker => Path + ".complete";

    /// <summary>The newest job is created this long before the store is built; the oldest 30 days before that.</summary>
    public static readonly TimeSpan Span = TimeSpan.FromDays(30);

    public static async Task<string> EnsureAsync(TextWriter log)
    {
        if (File.Exists(Marker) && File.Exists(Path))
        {
            return Path;
        }

        BenchPaths.DeleteDatabase(Path);
        File.Delete(Marker);
        log.WriteLine($"Building the {JobCount:N0}-job store at {Path} (64 concurrent producers through IJobStore.InsertAsync)...");
        var now = DateTimeOffset.UtcNow;
        TimeSpan elapsed;
        await using (var host = await JobkeeperHost.StartAsync(Path).ConfigureAwait(false))
        {
            elapsed = await Seeder.InsertAsync(host.Store, JobCount, now - Span, now,
                progress: d => log.WriteLine($"  {d:N0} jobs")).ConfigureAwait(false);
        }

        log.WriteLine($"Built in {elapsed.TotalSeconds:F1} s ({JobCount / elapsed.TotalSeconds:N0} jobs/s); size {new FileInfo(Path).Length / (1024 * 1024):N0} MiB");
        await File.WriteAllTextAsync(Marker, string.Create(CultureInfo.InvariantCulture,
            $"built {now:O} in {elapsed.TotalSeconds:F1} s\n")).ConfigureAwait(false);
        return Path;
    }

    /// <summary>Random existing job ids (by rowid), read with a plain connection.</summary>
    public static string[] SampleIds(string path, int count, int seed)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id FROM jobs WHERE rowid = $r";
        var parameter = command.Parameters.Add("$r", SqliteType.Integer);
        using var max = connection.CreateCommand();
        max.CommandText = "SELECT MAX(rowid) FROM jobs";
        var maxRowId = (long)max.ExecuteScalar()!;
        var random = new Random(seed);
        var ids = new List<string>(count);
        while (ids.Count < count)
        {
            parameter.Value = random.NextInt64(1, maxRowId + 1);
            if (command.ExecuteScalar() is string id)
            {
                ids.Add(id);
            }
        }

        return [.. ids];
    }
}
