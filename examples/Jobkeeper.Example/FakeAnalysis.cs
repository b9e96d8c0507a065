using Jobkeeper.Workers;

namespace Jobkeeper.Example;

/// <summary>
/// The pretend audio analysis: a few stages of timed steps and a result derived from the file name, so
/// the same file always gives the same answer. A file whose name contains "corrupt" fails to decode, for good:
/// <see cref="PermanentJobFailureException"/> tells Jobkeeper not to retry it.
/// </summary>
public static class FakeAnalysis
{
    public static IReadOnlyList<AnalysisStage> Stages { get; } =
    [
        new("decode", "Decoding audio", 2),
        new("beats", "Tracking beats and tempo", 3),
        new("key", "Estimating the key", 2),
        new("sections", "Finding song sections", 3),
    ];

    public static int TotalSteps { get; } = Stages.Sum(s => s.Steps);

    private static readonly string[] Keys = ["C major", "G major", "D major", "A minor", "E minor", "F major", "B minor"];
    private static readonly string[] SectionNames = ["intro", "verse", "chorus", "verse", "chorus", "bridge", "chorus", "outro"];

    /// <summary>Does one step of a stage (here: waits), throwing <see cref="PermanentJobFailureException"/> for undecodable files.</summary>
    public static async Task StepAsync(string file, AnalysisStage stage, int step, TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, time, cancellationToken);
        if (stage.Name == "decode" && step == stage.Steps && file.Contains("corrupt", StringComparison.OrdinalIgnoreCase))
        {
            throw new PermanentJobFailureException($"Could not decode '{file}': the audio stream is damaged.", "decode_error");
        }
    }

    public static AnalysisResult Result(string file, DateTime analyzedAt)
    {
        var seed = StableHash(file);
        var duration = 120 + (int)(seed % 180);
        var sections = new List<AnalysisSection>(SectionNames.Length);
        for (var i = 0; i < SectionNames.Length; i++)
        {
            sections.Add(new AnalysisSection(SectionNames[i], Math.Round((double)duration * i / SectionNames.Length, 1)));
        }

        return new AnalysisResult(
            file,
            duration,
            TempoBpm: 70 + (int)(seed / 7 % 90),
            Key: Keys[(int)(seed / 13 % (uint)Keys.Length)],
            sections,
            analyzedAt);
    }

    /// <summary>FNV-1a: unlike <see cref="string.GetHashCode()"/> it is the same in every process.</summary>
    private static uint StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}

public sealed record AnalysisStage(string Name, string Description, int Steps);

public sealed record AnalysisSection(string Label, double StartSeconds);

public sealed record AnalysisResult(
    string File,
    double DurationSeconds,
    int TempoBpm,
    string Key,
    IReadOnlyList<AnalysisSection> Sections,
    DateTime AnalyzedAt);
