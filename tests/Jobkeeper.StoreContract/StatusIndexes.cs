using System.Text.RegularExpressions;
using Jobkeeper.Model;

namespace Jobkeeper.StoreContract;

/// <summary>
/// The partial indexes of the jobs table hold the rows of some statuses; the migrations that made them wrote those
/// statuses out (old steps are never edited), while the queries take them from <see cref="JobStatusNames"/>. Each
/// store's tests read the predicates from its database and check them here, so the two cannot drift apart.
/// </summary>
public static partial class StatusIndexes
{
    /// <summary>The statuses each partial index holds, from the status rules (the terminal ones from <see cref="JobStatusNames.IsTerminal"/>).</summary>
    public static IReadOnlyDictionary<string, string[]> Expected { get; } = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["ix_jobs_claim"] = [JobStatus.Queued.ToName()],
        ["ix_jobs_claim_queue"] = [JobStatus.Queued.ToName()],
        ["ix_jobs_claim_partition"] = [JobStatus.Queued.ToName()],
        ["ix_jobs_running_queue"] = [JobStatus.Running.ToName()],
        ["ix_jobs_lease"] = [JobStatus.Running.ToName()],
        ["ix_jobs_prompt_expiry"] = [JobStatus.Waiting.ToName()],
        ["ix_jobs_terminal_completed"] = [.. JobStatusNames.All.Where(s => s.IsTerminal()).Select(s => s.ToName())],
        // Jobs with a unique key, whatever their status.
        ["ix_jobs_unique"] = [],
    };

    /// <summary>
    /// Checks the predicates of every partial index on the jobs table (index name → its WHERE clause, as the database
    /// gives it back): each names exactly the expected statuses, in the order the queries list them.
    /// </summary>
    public static void AssertMatch(IReadOnlyDictionary<string, string> predicates)
    {
        Assert.Equal(Expected.Keys.Order(StringComparer.Ordinal), predicates.Keys.Order(StringComparer.Ordinal));
        foreach (var (index, predicate) in predicates)
        {
            var named = Quoted().Matches(predicate).Select(m => m.Groups[1].Value).ToArray();
            Assert.True(Expected[index].SequenceEqual(named),
                $"{index} holds the jobs WHERE {predicate}; the queries ask for status {string.Join(", ", Expected[index])}");
        }
    }

    [GeneratedRegex("'([^']*)'")]
    private static partial Regex Quoted();
}
