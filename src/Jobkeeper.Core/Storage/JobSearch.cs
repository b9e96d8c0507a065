using System.Text;

namespace Jobkeeper.Storage;

/// <summary>
/// A job search (<c>q=</c>) as the stores run it: a job matches when its id starts with <see cref="IdPrefix"/>, or when the words
/// of its type, labels, input, result and error contain every one of <see cref="Words"/>. Words are runs of letters and
/// digits, lower-cased; everything else separates them, so nothing a person types is ever read as query syntax by the
/// full-text engine (SQLite FTS5, PostgreSQL <c>tsquery</c>).
/// </summary>
public sealed class JobSearch
{
    /// <summary>The longest search accepted.</summary>
    public const int MaxLength = 1000;

    /// <summary>At most this many words are matched; more would only narrow a search that long further.</summary>
    public const int MaxWords = 32;

    private JobSearch(string text, IReadOnlyList<string> words)
    {
        Text = text;
        Words = words;
    }

    /// <summary>The search as given (trimmed): what an id must start with.</summary>
    public string Text { get; }

    /// <summary>
    /// What a matching id starts with: <see cref="Text"/> when it could begin an id (<see cref="Model.JobIds"/>'s alphabet, at most
    /// its length), else null, and then only the words match.
    /// </summary>
    public string? IdPrefix => Text.Length <= Model.JobIds.MaxLength && Model.JobIds.IsValid(Text) ? Text : null;

    /// <summary>The words every matching job's text contains (empty when the search has none: then only ids match).</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>The search for <paramref name="text"/>, or null when it is empty or blank.</summary>
    public static JobSearch? Parse(string? text)
    {
        var trimmed = text?.Trim();
        return string.IsNullOrEmpty(trimmed) ? null : new JobSearch(trimmed, WordsOf(trimmed));
    }

    /// <summary>The words of <paramref name="text"/>: runs of letters and digits, lower-cased, each once, in order.</summary>
    public static IReadOnlyList<string> WordsOf(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune))
            {
                word.Append(Rune.ToLowerInvariant(rune).ToString());
                continue;
            }

            Flush();
        }

        Flush();
        return words;

        void Flush()
        {
            if (word.Length > 0 && words.Count < MaxWords && !words.Contains(word.ToString(), StringComparer.Ordinal))
            {
                words.Add(word.ToString());
            }

            word.Clear();
        }
    }
}
