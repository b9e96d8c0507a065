using System.Buffers;
using System.Text;
using System.Text.Json;
using Jobkeeper.Storage;

namespace Jobkeeper.Postgres;

/// <summary>
/// What one instance tells the others after a commit (a NOTIFY payload): the jobs it changed with their new
/// versions (0: deleted), the types that got queued jobs (to wake idle workers), and whether events were
/// appended (live streams read them from the table, in id order). Split to stay under PostgreSQL's 8,000-byte limit.
/// </summary>
internal sealed record PostgresChangeNotice(string Instance, bool HasEvents, IReadOnlyList<string> QueuedTypes, IReadOnlyList<JobVersion> Changes)
{
    /// <summary>The sender of the notice an application's transaction sends when it created jobs: it commits with them.</summary>
    public const string Enlisted = "enlisted";

    // PostgreSQL refuses payloads of 8,000 bytes or more; leave room for the last entry written.
    private const int MaxPayloadBytes = 7000;

    /// <summary>One or more payloads that together carry the change set.</summary>
    public static List<string> Encode(string instance, bool hasEvents, IReadOnlyCollection<string> queuedTypes, IReadOnlyList<JobVersion> changes)
    {
        var payloads = new List<string>();
        var buffer = new ArrayBufferWriter<byte>(1024);
        var writer = new Utf8JsonWriter(buffer);
        var index = 0;
        var first = true;
        do
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            writer.WriteStartObject();
            writer.WriteString("i", instance);
            // Events and queued types ride on the first payload only.
            writer.WriteBoolean("e", first && hasEvents);
            writer.WriteStartArray("q");
            if (first)
            {
                foreach (var type in queuedTypes)
                {
                    writer.WriteStringValue(type);
                }
            }

            writer.WriteEndArray();
            writer.WriteStartArray("c");
            for (; index < changes.Count; index++)
            {
                writer.Flush();
                if (buffer.WrittenCount > MaxPayloadBytes)
                {
                    break;
                }

                writer.WriteStringValue(changes[index].JobId);
                writer.WriteNumberValue(changes[index].Version);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.Flush();
            payloads.Add(Encoding.UTF8.GetString(buffer.WrittenSpan));
            first = false;
        }
        while (index < changes.Count);

        return payloads;
    }

    /// <summary>Reads a payload; null when it is not one of ours.</summary>
    public static PostgresChangeNotice? Decode(string payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            var types = root.GetProperty("q").EnumerateArray().Select(t => t.GetString()!).ToList();
            var changes = new List<JobVersion>();
            using (var entries = root.GetProperty("c").EnumerateArray())
            {
                while (entries.MoveNext())
                {
                    var id = entries.Current.GetString()!;
                    entries.MoveNext();
                    changes.Add(new JobVersion(id, entries.Current.GetInt64()));
                }
            }

            return new PostgresChangeNotice(root.GetProperty("i").GetString()!, root.GetProperty("e").GetBoolean(), types, changes);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }
}
