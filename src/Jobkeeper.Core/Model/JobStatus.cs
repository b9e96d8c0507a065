using System.Text.Json.Serialization;

namespace Jobkeeper.Model;

/// <summary>The life-cycle state of a job. The wire and store names are the lower-case member names.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobStatus>))]
public enum JobStatus
{
    [JsonStringEnumMemberName("queued")] Queued,
    [JsonStringEnumMemberName("running")] Running,
    [JsonStringEnumMemberName("waiting")] Waiting,
    [JsonStringEnumMemberName("completed")] Completed,
    [JsonStringEnumMemberName("failed")] Failed,
    [JsonStringEnumMemberName("cancelled")] Cancelled,
}

public static class JobStatusNames
{
    private static readonly string[] Names = ["queued", "running", "waiting", "completed", "failed", "cancelled"];

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
