using System.Buffers;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.Retention;

/// <summary>A job as archived by retention: the job and its whole history.</summary>
public sealed record ArchivedJob(Job Job, IReadOnlyList<JobEvent> Events);

/// <summary>
/// Archive files of retention: gzip-compressed JSON Lines, one line per job — the job's JSON (snake_case, as the API
/// writes it) with an <c>events</c> array added. One file per run, named by the run's UTC minute.
/// </summary>
public static class JobArchive
{
    public const string Extension = ".jsonl.gz";

    /// <summary>Reads every job of an archive file back, in the order written.</summary>
    public static async IAsyncEnumerable<ArchivedJob> ReadAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var file = File.OpenRead(path);
        await using (file.ConfigureAwait(false))
        {
            var gzip = new GZipStream(file, CompressionMode.Decompress);
            await using (gzip.ConfigureAwait(false))
            {
                using var reader = new StreamReader(gzip, System.Text.Encoding.UTF8);
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                {
                    if (line.Length == 0)
                    {
                        continue;
                    }

                    yield return Parse(line);
                }
            }
        }
    }

    /// <summary>Parses one archive line.</summary>
    public static ArchivedJob Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        var job = document.RootElement.Deserialize(CoreJsonContext.Default.Job)
            ?? throw new JsonException("An archive line holds no job.");
        var events = document.RootElement.TryGetProperty("events", out var e)
            ? e.Deserialize(CoreJsonContext.Default.IReadOnlyListJobEvent) ?? []
            : [];
        return new ArchivedJob(job, events);
    }

    /// <summary>Writes one job with its events as a JSON object (no line break).</summary>
    public static void Write(Utf8JsonWriter writer, Job job, IReadOnlyList<JobEvent> events)
    {
        var element = JsonSerializer.SerializeToElement(job, CoreJsonContext.Default.Job);
        writer.WriteStartObject();
        foreach (var property in element.EnumerateObject())
        {
            property.WriteTo(writer);
        }

        writer.WritePropertyName("events");
        JsonSerializer.Serialize(writer, events, CoreJsonContext.Default.IReadOnlyListJobEvent);
        writer.WriteEndObject();
    }
}

/// <summary>
/// One archive file being written. Each batch is compressed, flushed and synced to disk before
/// <see cref="WriteBatchAsync"/> returns, so the jobs in it may be deleted afterwards.
/// </summary>
public sealed class JobArchiveWriter : IAsyncDisposable
{
    private readonly FileStream _file;
    private readonly GZipStream _gzip;
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);

    private JobArchiveWriter(string path, FileStream file)
    {
        Path = path;
        _file = file;
        // Fastest: Optimal kept the cores busy for seconds at a time and made concurrent writes wait for one (docs/benchmarks.md).
        _gzip = new GZipStream(file, CompressionLevel.Fastest, leaveOpen: true);
    }

    public string Path { get; }

    /// <summary>Creates a new file <c>jobs-yyyy-MM-ddTHHmmZ.jsonl.gz</c> (with <c>-2</c>, <c>-3</c>… when that name is taken).</summary>
    public static JobArchiveWriter Create(string directory, DateTimeOffset runAt)
    {
        Directory.CreateDirectory(directory);
        var stem = $"jobs-{runAt.UtcDateTime:yyyy-MM-dd'T'HHmm}Z";
        for (var n = 1; ; n++)
        {
            var path = System.IO.Path.Combine(directory, (n == 1 ? stem : $"{stem}-{n}") + JobArchive.Extension);
            try
            {
                var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
                return new JobArchiveWriter(path, file);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Taken by an earlier run in the same minute.
            }
        }
    }

    /// <summary>Appends the jobs and makes them durable (gzip flushed, file synced).</summary>
    public async Task WriteBatchAsync(IEnumerable<ArchivedJob> jobs, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(_buffer))
        {
            foreach (var (job, events) in jobs)
            {
                JobArchive.Write(writer, job, events);
                writer.Flush();
                writer.Reset();
                _buffer.Write("\n"u8);
            }
        }

        await _gzip.WriteAsync(_buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await _gzip.FlushAsync(cancellationToken).ConfigureAwait(false);
        await _file.FlushAsync(cancellationToken).ConfigureAwait(false);
        _file.Flush(flushToDisk: true);
    }

    public async ValueTask DisposeAsync()
    {
        await _gzip.DisposeAsync().ConfigureAwait(false);
        _file.Flush(flushToDisk: true);
        await _file.DisposeAsync().ConfigureAwait(false);
    }
}
