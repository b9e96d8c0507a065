namespace Jobkeeper.Relational.Queues;

/// <summary>
/// Jobs a transaction has picked under flow control but not written yet: PostgreSQL writes every claim of a batch in one
/// statement after all of them picked, so a later claim of the same transaction must count the earlier ones' picks as
/// running. (SQLite writes each claim before the next picks, so it needs none.)
/// </summary>
internal sealed class FlowPending
{
    private readonly Dictionary<string, (int Running, Dictionary<string, int> ByKey)> _queues = new(StringComparer.Ordinal);

    public void Clear() => _queues.Clear();

    public int RunningIn(string queue) => _queues.TryGetValue(queue, out var q) ? q.Running : 0;

    public int RunningOf(string queue, string key) => _queues.TryGetValue(queue, out var q) ? q.ByKey.GetValueOrDefault(key) : 0;

    public IEnumerable<KeyValuePair<string, int>> KeysIn(string queue) => _queues.TryGetValue(queue, out var q) ? q.ByKey : [];

    public void Add(string queue, string key)
    {
        var (running, byKey) = _queues.TryGetValue(queue, out var q) ? q : (0, new Dictionary<string, int>(StringComparer.Ordinal));
        byKey[key] = byKey.GetValueOrDefault(key) + 1;
        _queues[queue] = (running + 1, byKey);
    }
}
