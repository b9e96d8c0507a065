namespace Jobkeeper.Example;

/// <summary>
/// The example's own settings, bound from the <c>Example</c> configuration section. How jobs are run
/// (leases, heartbeats, reaping, concurrency, shutdown grace) is Jobkeeper's, bound from <c>Jobkeeper:Workers</c>.
/// </summary>
public sealed class ExampleOptions
{
    public const string Section = "Example";

    /// <summary>The SQLite file holding the jobs; relative paths are resolved against the content root.</summary>
    public string Db { get; set; } = "./data/example.db";

    /// <summary>How long each step of the fake analysis takes.</summary>
    public int StepDelayMs { get; set; } = 400;

    /// <summary>
    /// Optional file the handler appends one line <c>"&lt;job id&gt; &lt;attempt&gt;"</c> to whenever it starts
    /// running a job, flushed at once, so one can count how often each job ran. Relative to the content root; off when empty.
    /// </summary>
    public string? ExecutionLog { get; set; }

    public TimeSpan StepDelay => TimeSpan.FromMilliseconds(StepDelayMs);
}
