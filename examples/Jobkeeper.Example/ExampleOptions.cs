namespace Jobkeeper.Example;

/// <summary>The example's settings, bound from the <c>Example</c> configuration section.</summary>
public sealed class ExampleOptions
{
    public const string Section = "Example";

    /// <summary>The SQLite file holding the jobs; relative paths are resolved against the content root.</summary>
    public string Db { get; set; } = "./data/example.db";

    /// <summary>How long each step of the fake analysis takes.</summary>
    public int StepDelayMs { get; set; } = 400;

    /// <summary>How many analyses run at the same time.</summary>
    public int Workers { get; set; } = 2;

    public TimeSpan StepDelay => TimeSpan.FromMilliseconds(StepDelayMs);
}
