using System.Text;

namespace Jobkeeper.Server.Tests.Infrastructure.Fuzz;

/// <summary>
/// The values a fuzzed request is built from when it should not be valid: extreme numbers, awkward text, odd ids,
/// query and header values. Everything stays within what Kestrel itself accepts (docs/api.md, "Answers from the HTTP
/// server"): a request line under 64 KB, ASCII header values, no <c>%00</c> in the path. Past those, Kestrel answers
/// by itself, and those answers are tested on their own.
/// </summary>
public static class HostileValues
{
    /// <summary>JSON number literals, as written on the wire (some do not fit a double, a long or a TimeSpan).</summary>
    public static readonly string[] Numbers =
    [
        "0", "-0", "1", "-1", "0.5", "1.5", "-0.1", "30", "31", "3600", "3601", "86400", "86401", "31536000", "31536001",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "123456789012345678901234567890", "1e12", "1e13", "1e15", "1e19", "1e308", "-1e308", "1.7976931348623157e308",
        "1e999", "-1e999", "1E+400", "1e-320", "5e-324", "-5e-324", "0.0000001", "1.0000000000000002", "0e0", "1e0", "2.5e1",
        "3.14159265358979323846264338327950288419716939937510",
    ];

    /// <summary>Text that is valid JSON but awkward: control characters, non-BMP, combining marks, direction overrides, a BOM, non-characters.</summary>
    public static readonly string[] Unicode =
    [
        "é", "ü✓", "日本語のテキスト", "😀", "👩‍👩‍👧‍👦", "e\u0301\u0301\u0301", "\u202Eevil\u202C", "\uFEFFbom", "\u0000", "a\u0000b", "\u0001\u001F\u007F",
        "\uFFFF", "\uFFFE", "\u2028\u2029", "\t\r\n", "\"quoted\"", "back\\slash", "<script>alert(1)</script>", "' OR 1=1 --", "%00", "%s%n",
        "\U0010FFFF", "Ω≈ç√∫", new string('\u0301', 500), "null", "true", "0", "",  " ", "   ",
    ];

    /// <summary>Stands for a lone surrogate escape (<c>\ud800</c>), which no .NET string can hold: swapped in after serialisation.</summary>
    public const string LoneSurrogate = "@@lone-surrogate@@";

    /// <summary>Path ids: near and past the length limit, percent-encoded text, reserved words and route syntax.</summary>
    public static readonly string[] PathIds =
    [
        "cleanup", "CLEANUP", "a", "-", "_", ".", "..", "%2E", "%2E%2E", "a.b:c_d-e", new string('a', 128), new string('a', 129), new string('b', 1000),
        new string('c', 10 * 1024), new string('d', 40 * 1024), "%C3%A9", "%F0%9F%98%80", "%E2%80%AE", "%FF", "%FF%FE", "%C0%AF", "%ED%A0%80",
        "%2F", "a%2Fb", "%5C", "%20", "a%20b", "%01", "%1F", "%7F", "%25", "%2500", "%25%30%30", "+", "*", "~", "a;b", "%3B", "%3F", "%23", "%26",
        "%3D", "%22", "%27", "%3C%3E", "%7B%7D", "a%09b", "%0D%0A", "%C2%A0",
    ];

    /// <summary>Query values: empty, signs, overflowing integers, odd timestamps, garbage, and percent-encoded text (including <c>%00</c>, which Kestrel leaves to the app in a query).</summary>
    public static readonly string[] QueryValues =
    [
        "", "0", "1", "-1", "+1", "1.5", "1e3", "36500", "36501", "1000", "1001", "2147483647", "2147483648", "9223372036854775807",
        "9223372036854775808", "99999999999999999999999", "NaN", "Infinity", "abc", "%00", "a%00b", "%FF", "%C3%A9", "%F0%9F%98%80",
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.9999999Z", "0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-14:00", "2026-13-45T25:61:61Z",
        "1970-01-01", "now", "queued", "running", "waiting,completed", "bogus", "queued,bogus", ",,,", "k:v", ":v", "k:", "nocolon", "a:b:c",
        "AAAA", "%2B%2F%3D%3D", "MTIzOmFiYw", "ZnV6eg%3D%3D", "fuzz.a", "%2A", "%20", "%0A", "%25", new string('q', 100),
    ];

    public static readonly string[] HeaderValues =
    [
        "", "\"1\"", "\"2\"", "\"0\"", "\"-1\"", "\"abc\"", "\"99999999999999999999999\"", "*", "W/\"1\"", "\"1\", \"2\"", "1", "\"",
        "fuzz", new string('x', 200), new string('x', 201), new string('y', 8 * 1024), "-1", "9223372036854775808", "abc", "%00", "\\u0000",
    ];

    private static readonly string[] Pieces = ["a", "b", "c", "x", "y", "z", "0", "7", " ", ".", "é", "日", "😀", "\"", "\\", "\n"];

    /// <summary>About <paramref name="length"/> characters (whole ones: a surrogate pair is never cut), mostly ASCII with some multi-byte text.</summary>
    public static string Long(int length, Random random)
    {
        var text = new StringBuilder(length + 2);
        while (text.Length < length)
        {
            text.Append(random.Next(8) == 0 ? Pieces[random.Next(Pieces.Length)] : Pieces[random.Next(6)]);
        }

        return text.ToString();
    }

    /// <summary>Raw JSON nested <paramref name="depth"/> levels deep: arrays, objects, or both in turn.</summary>
    public static string Nested(int depth, Random random)
    {
        var kind = random.Next(3);
        var open = new StringBuilder();
        var close = new StringBuilder();
        for (var i = 0; i < depth; i++)
        {
            var array = kind == 0 || (kind == 2 && i % 2 == 0);
            open.Append(array ? "[" : "{\"k\":");
            close.Insert(0, array ? "]" : "}");
        }

        return open.Append(random.Next(2) == 0 ? "1" : "\"x\"").Append(close).ToString();
    }
}
