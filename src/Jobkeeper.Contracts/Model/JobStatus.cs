using System.Text.Json.Serialization;

namespace Jobkeeper.Model;

/// <summary>The life-cycle state of a job. The wire and store names are the lower-case member names.</summary>
[JsonConverter(typeof(JobStatusJsonConverter))]
public enum JobStatus
{
    [JsonStringEnumMemberName("queued")] Queued,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("waiting")] Waiting,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

/// <summary>Statuses by their wire names only: a number is not a status.</summary>
public sealed class JobStatusJsonConverter() : JsonStringEnumConverter<JobStatus>(namingPolicy: null, allowIntegerValues: false);

public static class JobStatusNames
{
    // The wire names come from the enum's attributes: the one place a status is named.
    private static readonly string[] Names = Enum.GetValues<JobStatus>()
        .Select(s => typeof(JobStatus).GetField(s.ToString())!.GetCustomAttributes(typeof(JsonStringEnumMemberNameAttribute), false)
            .Cast<JsonStringEnumMemberNameAttribute>().Single().Name)
        .ToArray();

    public static IReadOnlyList<JobStatus> All { get; } = Enum.GetValues<JobStatus>();

    public static string ToName(this JobStatus status) => Names[(int)status];

    public static bool TryParse(string? name, out JobStatus status)
    {
        var index = name is null ? -1 : Array.IndexOf(Names, name);
        status = index < 0 ? default : (JobStatus)index;
        return index >= 0;
    }

    public static string ValidNames { get; } = string.Join(", ", Names);

    public static bool IsTerminal(this JobStatus status) =>
        status is JobStatus.Completed or JobStatus.Failed or JobStatus.Cancelled;
}
