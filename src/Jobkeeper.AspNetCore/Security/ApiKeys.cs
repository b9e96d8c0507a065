using System.Buffers.Text;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
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
    internal ParsedKey[] Parsed
    {
        get
        {
            var parsed = _parsed;
            if (parsed is null || !ReferenceEquals(parsed.Source, Keys))
            {
                parsed = new ParsedKeys(Keys, [.. Keys.Select(k => new ParsedKey(k.Name, ApiKeyHash.Parse(k.Hash), k.Roles))]);
                _parsed = parsed;
            }

            return parsed.Entries;
        }
    }

    /// <summary>
    /// The answer of open mode (no keys): the caller is <c>open</c>, with the role <c>admin</c> and the claim
    /// <see cref="ApiKeyAuthenticationHandler.OpenClaim"/>. One principal for every request (see <see cref="ParsedKey.Authenticated"/>).
    /// </summary>
    internal static Task<AuthenticateResult> OpenResult { get; } = Success(
        [new Claim(ClaimTypes.Name, "open"), new Claim(ClaimTypes.Role, JobkeeperRoles.Admin), new Claim(ApiKeyAuthenticationHandler.OpenClaim, "true")]);

    /// <summary>The principal of <see cref="OpenResult"/>.</summary>
    internal static SharedPrincipal OpenPrincipal => (SharedPrincipal)OpenResult.Result.Principal!;

    private static Task<AuthenticateResult> Success(IEnumerable<Claim> claims) =>
        Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new SharedPrincipal(claims), ApiKeyAuthenticationHandler.SchemeName)));

    /// <summary>One configured key, its hash decoded.</summary>
    internal sealed class ParsedKey(string name, byte[] hash, List<string> roles)
    {
        public string Name { get; } = name;
        public byte[] Hash { get; } = hash;
        public List<string> Roles { get; } = roles;

        /// <summary>
        /// The successful answer for this key, built once: its principal (name and role claims), ticket and result are the same
        /// objects on every request that presents the key. Building them per request was ~1.1 KB of the ~6.6 KB the hot GET
        /// allocated (17-20 % of the allocation samples of a gc-verbose trace under wrk, open and keyed alike; docs/benchmarks.md).
        /// The principal cannot be changed (<see cref="SharedPrincipal"/>), so no request can alter what another one sees; an app
        /// that adds claims in an <c>IClaimsTransformation</c> returns a copy, as ASP.NET Core asks of every transformation.
        /// </summary>
        public Task<AuthenticateResult> Authenticated { get; } =
            Success([new Claim(ClaimTypes.Name, name), .. roles.Select(r => new Claim(ClaimTypes.Role, r))]);

        /// <summary>The principal of <see cref="Authenticated"/>.</summary>
        public SharedPrincipal Principal => (SharedPrincipal)Authenticated.Result.Principal!;
    }

    private sealed record ParsedKeys(List<ApiKeyEntry> Source, ParsedKey[] Entries);
}

/// <summary>
/// The principal of one key (or of open mode), shared by every request that presents the key: read-only, so that a request
/// cannot change what the next one sees (<see cref="ClaimsPrincipal.AddIdentity"/> and the identity's claim changes throw;
/// <see cref="ClaimsPrincipal.Clone"/> gives a copy that identities can be added to; the key's identity stays read-only in
/// it). Its roles are looked up in a set made once, instead of enumerating the claims on every role check of every request
/// (an enumerator per check in the gc-verbose trace).
/// </summary>
internal sealed class SharedPrincipal : ClaimsPrincipal
{
    private readonly HashSet<string> _roles;

    public SharedPrincipal(IEnumerable<Claim> claims)
        : base(new ReadOnlyIdentity(claims))
    {
        var identity = (ClaimsIdentity)Identity!;
        _roles = identity.FindAll(identity.RoleClaimType).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        Transformed = Task.FromResult<ClaimsPrincipal>(this);
    }

    /// <summary>This principal as the no-op claims transformation answers it (see <see cref="JobkeeperClaimsTransformation"/>).</summary>
    public Task<ClaimsPrincipal> Transformed { get; }

    /// <summary>As <see cref="ClaimsPrincipal.IsInRole"/>: a role claim of the one identity with this exact value.</summary>
    public override bool IsInRole(string role) => _roles.Contains(role);

    public override void AddIdentity(ClaimsIdentity identity) => throw ReadOnlyIdentity.Refused();

    public override void AddIdentities(IEnumerable<ClaimsIdentity> identities) => throw ReadOnlyIdentity.Refused();

    private sealed class ReadOnlyIdentity : ClaimsIdentity
    {
        private readonly bool _built;

        public ReadOnlyIdentity(IEnumerable<Claim> claims)
            : base(claims, ApiKeyAuthenticationHandler.SchemeName) => _built = true;

        public static InvalidOperationException Refused() =>
            new("The principal of an API key is shared by every request with that key and cannot be changed; add an identity to a Clone() of it.");

        public override void AddClaim(Claim claim)
        {
            if (_built)
            {
                throw Refused();
            }

            base.AddClaim(claim);
        }

        public override void AddClaims(IEnumerable<Claim?> claims)
        {
            if (_built)
            {
                throw Refused();
            }

            base.AddClaims(claims);
        }

        public override void RemoveClaim(Claim? claim) => throw Refused();

        public override bool TryRemoveClaim(Claim? claim) => throw Refused();
    }
}

/// <summary>
/// The no-op claims transformation, as ASP.NET Core's own (the principal unchanged), without a new task per request for the
/// shared principals of API keys (<c>Task&lt;ClaimsPrincipal&gt;</c> was ~1.2 % of the hot GET's allocation samples).
/// </summary>
internal sealed class JobkeeperClaimsTransformation : IClaimsTransformation
{
    public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal) =>
        principal is SharedPrincipal shared ? shared.Transformed : Task.FromResult(principal);
}

/// <summary>Generating keys and computing, formatting and parsing their hashes.</summary>
public static class ApiKeyHash
{
    public const string Prefix = "sha256:";
    public const string KeyPrefix = "jk_";

    /// <summary>A new key: <c>jk_</c> and 32 random bytes in base64url.</summary>
    public static string GenerateKey() => KeyPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static byte[] Compute(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    internal const int DigestBytes = 32;

    /// <summary>The SHA-256 of the key's UTF-8 into <paramref name="hash"/>, without allocating for keys of up to 256 bytes.</summary>
    internal static void Compute(ReadOnlySpan<char> key, Span<byte> hash)
    {
        var length = Encoding.UTF8.GetByteCount(key);
        var bytes = length <= 256 ? stackalloc byte[256] : new byte[length];
        var written = Encoding.UTF8.GetBytes(key, bytes);
        SHA256.HashData(bytes[..written], hash);
    }

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
