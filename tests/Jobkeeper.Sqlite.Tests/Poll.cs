using System.Diagnostics;

namespace Jobkeeper.Sqlite.Tests;

/// <summary>
/// Waits for something to become true, looking again every few milliseconds, and fails the test
/// with what it waited for (and what it saw) once a real-time deadline passes.
/// </summary>
internal static class Poll
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(5);

    public static Task UntilAsync(Func<bool> condition, string what, Func<string>? seen = null, TimeSpan? deadline = null) =>
        UntilAsync(() => Task.FromResult(condition()), ok => ok, what, _ => seen?.Invoke() ?? "", deadline);

    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, Func<T, string>? seen = null, TimeSpan? deadline = null)
    {
        var started = Stopwatch.GetTimestamp();
        var limit = deadline ?? Deadline;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (Stopwatch.GetElapsedTime(started) > limit)
            {
                throw new TimeoutException($"Gave up after {limit.TotalSeconds} s waiting for {what}. Last seen: {seen?.Invoke(value) ?? value?.ToString()}");
            }

            // The poll interval (real time): the thing waited for happens on other threads.
            await Task.Delay(Interval);
        }
    }

    /// <summary>Awaits a task that should finish soon, failing the test at the deadline instead of hanging.</summary>
    public static async Task<T> Within<T>(Task<T> task, string what)
    {
        try
        {
            return await task.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Gave up after {Deadline.TotalSeconds} s waiting for {what}.");
        }
    }

    public static async Task Within(Task task, string what)
    {
        try
        {
            await task.WaitAsync(Deadline);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"Gave up after {Deadline.TotalSeconds} s waiting for {what}.");
        }
    }
}
