using System.Collections.Concurrent;
using System.Text;

namespace Jobkeeper.Server.Tests.Infrastructure.Fuzz;

/// <summary>What a fuzz run got back: counts by operation and status, and the requests whose answers broke the contract.</summary>
public sealed class FuzzReport(int operations, int seed)
{
    private const int KeptSamples = 15;

    private readonly ConcurrentDictionary<(string Operation, int Status), int> _statuses = new();
    private readonly ConcurrentQueue<string> _serverErrors = new();
    private readonly ConcurrentQueue<string> _badProblems = new();
    private readonly ConcurrentQueue<string> _unanswered = new();
    private int _requests;
    private int _serverErrorCount;
    private int _badProblemCount;
    private int _unansweredCount;

    public int Requests => _requests;

    public int ServerErrors => _serverErrorCount;

    /// <summary>4xx answers that are not problem details (or whose status disagrees).</summary>
    public int BadProblems => _badProblemCount;

    /// <summary>Requests that got no answer: the connection failed or the request timed out.</summary>
    public int Unanswered => _unansweredCount;

    public void Answered(FuzzRequest request, int status, string? fault)
    {
        Interlocked.Increment(ref _requests);
        _statuses.AddOrUpdate((request.Operation.Name, status), 1, (_, n) => n + 1);
        if (fault is null)
        {
            return;
        }

        var (queue, count) = status >= 500 ? (_serverErrors, Interlocked.Increment(ref _serverErrorCount)) : (_badProblems, Interlocked.Increment(ref _badProblemCount));
        if (count <= KeptSamples)
        {
            queue.Enqueue($"{request}\n  -> {fault}");
        }
    }

    public void NotAnswered(FuzzRequest request, Exception error)
    {
        Interlocked.Increment(ref _requests);
        if (Interlocked.Increment(ref _unansweredCount) <= KeptSamples)
        {
            _unanswered.Enqueue($"{request}\n  -> {error.GetType().Name}: {error.Message} {error.InnerException?.Message}");
        }
    }

    /// <summary>The line to quote: how many requests, over how many operations, from which seed, and what broke.</summary>
    public string Summary =>
        $"fuzz: {Requests} requests over {operations} operations, seed {seed}: {ServerErrors} × 5xx, {BadProblems} × 4xx without problem+json, "
        + $"{Unanswered} without an answer";

    /// <summary>Answers by operation and status, e.g. <c>POST /api/v1/jobs: 201×120 400×310 413×4</c>.</summary>
    public string Statuses()
    {
        var text = new StringBuilder();
        foreach (var operation in _statuses.Keys.Select(k => k.Operation).Distinct().Order(StringComparer.Ordinal))
        {
            var counts = _statuses.Where(p => p.Key.Operation == operation).OrderBy(p => p.Key.Status).Select(p => $"{p.Key.Status}×{p.Value}");
            text.Append("  ").Append(operation).Append(": ").AppendLine(string.Join(" ", counts));
        }

        return text.ToString();
    }

    /// <summary>Sampled failures with their requests, for the assertion message (empty when there are none).</summary>
    public string Failures()
    {
        var text = new StringBuilder();
        void Section(string title, int count, IEnumerable<string> samples)
        {
            if (count > 0)
            {
                text.AppendLine($"{title} ({count}, first {Math.Min(count, KeptSamples)}; regenerate any with seed {seed} and its #index):");
                foreach (var sample in samples)
                {
                    text.AppendLine(sample);
                }
            }
        }

        Section("5xx answers", ServerErrors, _serverErrors);
        Section("4xx answers without problem+json", BadProblems, _badProblems);
        Section("requests without an answer", Unanswered, _unanswered);
        return text.ToString();
    }
}
