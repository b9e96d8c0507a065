using System.Globalization;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Example;

/// <summary>
/// The optional <c>Example:ExecutionLog</c> file: one line <c>"&lt;job id&gt; &lt;attempt&gt;"</c> per handler
/// execution, appended and flushed to the operating system before the analysis starts, so the line is there
/// even if the process is killed a moment later. Lets a test (or a curious reader) count how often each job
/// ran — at most once per attempt, plus once more for an attempt interrupted by a crash or a shutdown, or
/// resumed after a question was answered. <see cref="ReviewHandler"/> also writes <c>"&lt;job id&gt; work"</c> each
/// time it actually does its work before the questions, so one can see the checkpoint spare it on resume.
/// </summary>
public sealed class ExecutionLog : IDisposable
{
    private readonly Lock _lock = new();
    private readonly StreamWriter? _writer;

    public ExecutionLog(IOptions<ExampleOptions> options, IHostEnvironment environment)
    {
        if (string.IsNullOrWhiteSpace(options.Value.ExecutionLog))
        {
            return;
        }

        Path = System.IO.Path.GetFullPath(options.Value.ExecutionLog, environment.ContentRootPath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        // Appends across restarts; others may read the file while it is open.
        _writer = new StreamWriter(new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { NewLine = "\n" };
    }

    /// <summary>The full path of the log; null when it is off.</summary>
    public string? Path { get; }

    /// <summary>A handler started running attempt <paramref name="attempt"/> of a job: <c>"&lt;job id&gt; &lt;attempt&gt;"</c>.</summary>
    public void Record(string jobId, int attempt) => Record(jobId, attempt.ToString(CultureInfo.InvariantCulture));

    /// <summary>A handler did something worth counting: <c>"&lt;job id&gt; &lt;marker&gt;"</c> (e.g. <c>work</c>, see <see cref="ReviewHandler"/>).</summary>
    public void Record(string jobId, string marker)
    {
        if (_writer is null)
        {
            return;
        }

        lock (_lock)
        {
            _writer.WriteLine(jobId + " " + marker);
            _writer.Flush();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _writer?.Dispose();
        }
    }
}
