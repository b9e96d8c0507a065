using Jobkeeper.Model;

namespace Jobkeeper.Relational;

/// <summary>
/// Statuses as SQL literals, from <see cref="JobStatusNames"/> and <see cref="JobStatusNames.IsTerminal"/>: the queries
/// of both stores take them from here. The migrations' partial indexes wrote them out once (old steps are never
/// edited); the stores' tests check those against these.
/// </summary>
internal static class StatusSql
{
    /// <summary><c>'queued'</c>: a status name (a fixed lower-case word, never input) as a literal.</summary>
    public static string Of(JobStatus status) => $"'{status.ToName()}'";

    /// <summary><c>('completed', 'failed', 'cancelled')</c>, in declaration order, as the terminal index of each store spells it.</summary>
    public static string Terminal { get; } = $"({string.Join(", ", JobStatusNames.All.Where(s => s.IsTerminal()).Select(Of))})";
}
