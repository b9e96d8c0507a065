using System.Text.RegularExpressions;

namespace Jobkeeper.Snippets.Tests;

/// <summary>
/// Every C# block of the README is one of this project's files, character for character: its first line names the
/// file, so a snippet cannot drift from code that compiles and runs.
/// </summary>
public sealed partial class ReadmeSnippetTests
{
    [Fact]
    public void Each_readme_csharp_block_equals_the_file_it_names()
    {
        var readme = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "README.md")).ReplaceLineEndings("\n");
        var blocks = CSharpBlock().Matches(readme).Select(m => m.Groups["code"].Value).ToList();
        Assert.NotEmpty(blocks);
        var named = new List<string>();
        foreach (var block in blocks)
        {
            var first = block.Split('\n', 2)[0];
            Assert.True(first.StartsWith("// tests/Jobkeeper.Snippets.Tests/", StringComparison.Ordinal),
                $"a README C# block does not start with the file it is taken from:\n{block}");
            var relative = first["// tests/Jobkeeper.Snippets.Tests/".Length..].Trim();
            var file = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, relative)).ReplaceLineEndings("\n");
            Assert.Equal(file.TrimEnd('\n'), block.TrimEnd('\n'));
            named.Add(relative);
        }

        // Every snippet file is shown in the README, once.
        var files = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Snippets"), "*.cs")
            .Select(f => Path.GetRelativePath(AppContext.BaseDirectory, f).Replace('\\', '/'));
        Assert.Equal(files.Order(StringComparer.Ordinal), named.Order(StringComparer.Ordinal));
    }

    [GeneratedRegex(@"^```csharp\n(?<code>.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
