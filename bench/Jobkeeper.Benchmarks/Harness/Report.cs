using System.Globalization;
using System.Text;

namespace Jobkeeper.Benchmarks.Harness;

/// <summary>Collects a suite's lines, prints them as they come and writes them to bench/.results/&lt;suite&gt;.md.</summary>
public sealed class Report(string suite)
{
    private readonly StringBuilder _text = new();

    public void Line(string text = "")
    {
        Console.WriteLine(text);
        _text.AppendLine(text);
    }

    public void Save()
    {
        var header = string.Create(CultureInfo.InvariantCulture,
            $"<!-- {suite}: {DateTimeOffset.UtcNow:O}, {Environment.ProcessorCount} cores, .NET {Environment.Version} -->\n");
        var path = Path.Combine(BenchPaths.Results, suite + ".md");
        File.WriteAllText(path, header + _text);
        Console.WriteLine($"(written to {path})");
    }
}

public static class Stats
{
    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>The value below which <paramref name="p"/> (0..1) of the samples fall (nearest rank).</summary>
    public static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static string F(double value, int decimals = 1) => value.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
