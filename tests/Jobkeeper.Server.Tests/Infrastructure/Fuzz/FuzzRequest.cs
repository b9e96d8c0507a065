using System.Text;

namespace Jobkeeper.Server.Tests.Infrastructure.Fuzz;

/// <summary>One generated request: what it is made of, and which mutations made it (for the failure message).</summary>
public sealed record FuzzRequest(ApiOperation Operation, int Index, IReadOnlyList<string> Mutations, string PathAndQuery,
    IReadOnlyList<KeyValuePair<string, string>> Headers, byte[]? Body, string? ContentType)
{
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append('#').Append(Index).Append(' ').Append(Operation.Method).Append(' ').Append(Shorten(PathAndQuery, 200));
        text.Append(" [").Append(string.Join(", ", Mutations)).Append(']');
        foreach (var (name, value) in Headers)
        {
            text.Append(' ').Append(name).Append(": ").Append(Shorten(value, 60));
        }

        if (Body is not null)
        {
            text.Append(" (").Append(ContentType ?? "no content type").Append(", ").Append(Body.Length).Append(" bytes) ")
                .Append(Shorten(Encoding.UTF8.GetString(Body), 300));
        }

        return text.ToString();
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..length] + $"…({text.Length})";
}
