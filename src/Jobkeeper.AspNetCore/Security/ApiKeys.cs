using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Jobkeeper.AspNetCore.Security;

/// <summary>One configured API key: a name (shown in logs and rate-limit partitions), the SHA-256 of the key, its roles.</summary>
public sealed class ApiKeyEntry
{
    public string Name { get; set; } = "";

    /// <summary><c>sha256:</c> followed by 64 hex digits or 44 base64 characters (the prefix may be left off).</summary>
    public string Hash { get; set; } = "";

    public List<string> Roles { get; set; } = [];
}

/// <summary>Settings of the API key authentication scheme.</summary>
public sealed class ApiKeyOptions : Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions
{
    /// <summary>The accepted keys. None: the API is open (every request is treated as <c>admin</c>).</summary>
    public List<ApiKeyEntry> Keys { get; set; } = [];

    private ParsedKeys? _parsed;

    /// <summary>
    /// The keys with their hashes decoded, once per options instance: the handler is created per request, and decoding every
    /// hash on every request was measurable on the hot read path.
    /// </summary>
    internal (string Name, byte[] Hash, List<string> Roles)[] Parsed
    {
        get
        {
            var parsed = _parsed;
            if (parsed is null || !ReferenceEquals(parsed.Source, Keys))
            {
                parsed = new ParsedKeys(Keys, [.. Keys.Select(k => (k.Name, ApiKeyHash.Parse(k.Hash), k.Roles))]);
                _parsed = parsed;
            }

            return parsed.Entries;
        }
    }

    private sealed record ParsedKeys(List<ApiKeyEntry> Source, (string Name, byte[] Hash, List<string> Roles)[] Entries);
}

/// <summary>Generating keys and computing, formatting and parsing their hashes.</summary>
public static class ApiKeyHash
{
    public const string Prefix = "sha256:";
    public const string KeyPrefix = "jk_";

    /// <summary>A new key: <c>jk_</c> and 32 random bytes in base64url.</summary>
    public static string GenerateKey() => KeyPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static byte[] Compute(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary><c>sha256:</c> and the lowercase hex digest of <paramref name="key"/>.</summary>
    public static string Format(string key) => Prefix + Convert.ToHexStringLower(Compute(key));

    /// <summary>The 32 digest bytes of a configured hash; throws <see cref="FormatException"/> when it is not one.</summary>
    public static byte[] Parse(string hash)
    {
        var text = hash.Trim();
        if (text.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            text = text[Prefix.Length..];
        }

        if (text.Length == 64 && text.All(char.IsAsciiHexDigit))
        {
            return Convert.FromHexString(text);
        }

        var bytes = new byte[48];
        if (Convert.TryFromBase64String(text, bytes, out var written) && written == 32)
        {
            return bytes[..32];
        }

        throw new FormatException("a hash is \"sha256:\" followed by 64 hex digits or the base64 of the 32-byte SHA-256 digest of the key");
    }

    /// <summary>Checks entries for names, hashes and roles; the message names the entry at fault.</summary>
    public static void Validate(IReadOnlyList<ApiKeyEntry> keys)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            var at = $"Jobkeeper:ApiKeys:{i}";
            if (string.IsNullOrWhiteSpace(key.Name))
            {
                throw new InvalidOperationException($"{at}: name is required.");
            }

            if (!names.Add(key.Name))
            {
                throw new InvalidOperationException($"{at}: the name '{key.Name}' is used twice.");
            }

            try
            {
                Parse(key.Hash ?? "");
            }
            catch (FormatException ex)
            {
                throw new InvalidOperationException($"{at} ('{key.Name}'): {ex.Message}.", ex);
            }

            if (key.Roles is null || key.Roles.Count == 0)
            {
                throw new InvalidOperationException($"{at} ('{key.Name}'): at least one role is required ({string.Join(", ", JobkeeperRoles.All)}).");
            }

            foreach (var role in key.Roles)
            {
                if (!JobkeeperRoles.IsKnown(role))
                {
                    throw new InvalidOperationException($"{at} ('{key.Name}'): unknown role '{role}'; roles are {string.Join(", ", JobkeeperRoles.All)}.");
                }
            }
        }
    }
}
