using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;

namespace Jobkeeper.AspNetCore.Dashboard;

/// <summary>One dashboard file, read from the assembly once: its bytes, content type and a content-hash ETag.</summary>
internal sealed record DashboardAsset(string Name, string ContentType, ReadOnlyMemory<byte> Content, string ETag);

/// <summary>
/// The dashboard files embedded in this assembly (under the logical prefix <c>JobkeeperDashboard/</c>). They are
/// small, so all are loaded into memory on first use and served from there.
/// </summary>
internal static class DashboardAssets
{
    private const string Prefix = "JobkeeperDashboard/";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".png"] = "image/png",
        [".json"] = "application/json; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private static readonly Lazy<FrozenDictionary<string, DashboardAsset>> All = new(Load);

    public const string Index = "index.html";

    /// <summary>The file with this name (e.g. <c>app.js</c>), or null; names are case-sensitive like URLs.</summary>
    public static DashboardAsset? Find(string name) => All.Value.GetValueOrDefault(name);

    private static FrozenDictionary<string, DashboardAsset> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var assets = new Dictionary<string, DashboardAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            // RecursiveDir uses the build machine's separator; URLs use '/'.
            var name = resource[Prefix.Length..].Replace('\\', '/');
            var bytes = Read(assembly, resource);
            var contentType = ContentTypes.GetValueOrDefault(Path.GetExtension(name), "application/octet-stream");
            var hash = Convert.ToBase64String(SHA256.HashData(bytes), 0, 12).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            assets[name] = new DashboardAsset(name, contentType, bytes, "\"" + hash + "\"");
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static byte[] Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"The embedded dashboard file '{resource}' cannot be read.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
