using System.Globalization;
using System.Text;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>
/// A strict reader of the Prometheus text exposition format (0.0.4): every sample line is <c>name{labels} value</c>,
/// each family has one HELP and one TYPE line before its samples, histogram buckets rise to <c>+Inf</c> = <c>_count</c>.
/// Any deviation fails the test with the offending line.
/// </summary>
public sealed class PrometheusText
{
    private PrometheusText(Dictionary<string, string> types, Dictionary<string, string> help, List<Sample> samples)
    {
        Types = types;
        Help = help;
        Samples = samples;
    }

    public IReadOnlyDictionary<string, string> Types { get; }

    public IReadOnlyDictionary<string, string> Help { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
    {
        public bool Has(params (string Name, string Value)[] labels) =>
            labels.All(l => Labels.TryGetValue(l.Name, out var v) && v == l.Value);
    }

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels include <paramref name="labels"/> (0 when none).</summary>
    public double Sum(string name, params (string Name, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && s.Has(labels)).Sum(s => s.Value);

    /// <summary>The one sample named <paramref name="name"/> with exactly these labels, or null.</summary>
    public double? Value(string name, params (string Name, string Value)[] labels) =>
        Samples.SingleOrDefault(s => s.Name == name && s.Labels.Count == labels.Length && s.Has(labels))?.Value;

    public static PrometheusText Parse(string text)
    {
        Assert.True(text.EndsWith('\n'), "the exposition must end with a line feed");
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var help = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<Sample>();
        var seenSamplesOf = new HashSet<string>(StringComparer.Ordinal);
        string? current = null;
        var lines = text[..^1].Split('\n');
        foreach (var line in lines)
        {
            Assert.False(string.IsNullOrWhiteSpace(line), "empty line in the exposition");
            if (line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var rest = line[7..];
                var space = rest.IndexOf(' ');
                Assert.True(space > 0, $"malformed comment: {line}");
                var name = rest[..space];
                AssertName(name, line);
                Assert.False(seenSamplesOf.Contains(name), $"HELP/TYPE after samples of {name}: {line}");
                if (line[2] == 'H')
                {
                    Assert.True(help.TryAdd(name, rest[(space + 1)..]), $"second HELP for {name}");
                }
                else
                {
                    var type = rest[(space + 1)..];
                    Assert.Contains(type, new[] { "counter", "gauge", "histogram", "summary", "untyped" });
                    Assert.True(types.TryAdd(name, type), $"second TYPE for {name}");
                    Assert.True(help.ContainsKey(name), $"TYPE without HELP before it for {name}");
                }

                current = name;
                continue;
            }

            Assert.False(line.StartsWith('#'), $"unexpected comment: {line}");
            var sample = ParseSample(line);
            var family = FamilyOf(sample.Name, types);
            Assert.True(family is not null, $"sample without a TYPE: {line}");
            Assert.True(family == current, $"sample of {family} outside its family's block (in {current}): {line}");
            seenSamplesOf.Add(family!);
            samples.Add(sample);
        }

        var parsed = new PrometheusText(types, help, samples);
        parsed.CheckFamilies();
        return parsed;
    }

    private static string? FamilyOf(string sampleName, Dictionary<string, string> types)
    {
        if (types.ContainsKey(sampleName))
        {
            return sampleName;
        }

        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal)
                && types.TryGetValue(sampleName[..^suffix.Length], out var type) && type == "histogram")
            {
                return sampleName[..^suffix.Length];
            }
        }

        return null;
    }

    private void CheckFamilies()
    {
        foreach (var (name, type) in Types)
        {
            if (type == "counter")
            {
                Assert.EndsWith("_total", name);
                Assert.All(Samples.Where(s => s.Name == name), s => Assert.True(s.Value >= 0, $"negative counter {name}"));
            }

            if (type != "histogram")
            {
                continue;
            }

            var groups = Samples.Where(s => s.Name.StartsWith(name + "_", StringComparison.Ordinal))
                .GroupBy(s => string.Join(",", s.Labels.Where(l => l.Key != "le").OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")));
            foreach (var group in groups)
            {
                var buckets = group.Where(s => s.Name == name + "_bucket").ToList();
                Assert.True(buckets.Count >= 1, $"{name}{{{group.Key}}} has no buckets");
                Assert.Equal("+Inf", buckets[^1].Labels["le"]);
                double previousLe = double.NegativeInfinity, previousCount = 0;
                foreach (var bucket in buckets)
                {
                    var le = ParseNumber(bucket.Labels["le"]);
                    Assert.True(le > previousLe, $"{name}{{{group.Key}}} buckets not in rising order at le={le}");
                    Assert.True(bucket.Value >= previousCount, $"{name}{{{group.Key}}} bucket le={le} is below the one before");
                    previousLe = le;
                    previousCount = bucket.Value;
                }

                var count = group.Single(s => s.Name == name + "_count").Value;
                Assert.Equal(count, buckets[^1].Value);
                Assert.Single(group, s => s.Name == name + "_sum");
            }
        }
    }

    private static Sample ParseSample(string line)
    {
        var pos = 0;
        while (pos < line.Length && line[pos] is not ('{' or ' '))
        {
            pos++;
        }

        var name = line[..pos];
        AssertName(name, line);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (pos < line.Length && line[pos] == '{')
        {
            pos++;
            while (line[pos] != '}')
            {
                var eq = line.IndexOf('=', pos);
                Assert.True(eq > pos, $"label without a name: {line}");
                var label = line[pos..eq];
                Assert.Matches("^[a-zA-Z_][a-zA-Z0-9_]*$", label);
                Assert.True(line[eq + 1] == '"', $"label value not quoted: {line}");
                pos = eq + 2;
                var value = new StringBuilder();
                while (line[pos] != '"')
                {
                    if (line[pos] == '\\')
                    {
                        pos++;
                        value.Append(line[pos] switch
                        {
                            '\\' => '\\',
                            '"' => '"',
                            'n' => '\n',
                            var other => throw new Xunit.Sdk.XunitException($"bad escape \\{other} in: {line}"),
                        });
                    }
                    else
                    {
                        value.Append(line[pos]);
                    }

                    pos++;
                }

                Assert.True(labels.TryAdd(label, value.ToString()), $"label {label} twice: {line}");
                pos++;
                if (line[pos] == ',')
                {
                    pos++;
                }
                else
                {
                    Assert.True(line[pos] == '}', $"expected , or }} after a label: {line}");
                }
            }

            pos++;
        }

        Assert.True(pos < line.Length && line[pos] == ' ', $"no space before the value: {line}");
        var number = line[(pos + 1)..];
        Assert.DoesNotContain(' ', number);
        return new Sample(name, labels, ParseNumber(number));
    }

    private static double ParseNumber(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new Xunit.Sdk.XunitException($"not a number: '{text}'"),
    };

    private static void AssertName(string name, string line) =>
        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-zA-Z_:][a-zA-Z0-9_:]*$"), $"bad metric name '{name}' in: {line}");
}
