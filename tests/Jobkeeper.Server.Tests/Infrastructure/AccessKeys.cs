using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Jobkeeper.Server.Tests.Infrastructure;

/// <summary>API keys for the access-control tests: one per role, written hashed into a server's appsettings.json.</summary>
public static class AccessKeys
{
    public static readonly string[] Roles = ["read", "submit", "work", "answer", "admin"];

    /// <summary>A fresh key per role (random, so no test can pass on a fixed value).</summary>
    public static Dictionary<string, string> NewKeyPerRole() =>
        Roles.ToDictionary(r => r, r => $"jk_test_{r}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}");

    public static string Hash(string key) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>An appsettings.json with one key per (name, key, roles), plus any extra members under "Jobkeeper".</summary>
    public static Action<string> WriteSettings(IEnumerable<(string Name, string Key, string[] Roles)> keys, JsonObject? extra = null, JsonObject? logging = null) => directory =>
    {
        var jobkeeper = extra ?? new JsonObject();
        jobkeeper["ApiKeys"] = new JsonArray([.. keys.Select(k => (JsonNode)new JsonObject
        {
            ["name"] = k.Name,
            ["hash"] = Hash(k.Key),
            ["roles"] = new JsonArray([.. k.Roles.Select(r => (JsonNode)JsonValue.Create(r))]),
        })]);
        var root = new JsonObject { ["Jobkeeper"] = jobkeeper };
        if (logging is not null)
        {
            root["Logging"] = logging;
        }

        File.WriteAllText(Path.Combine(directory, "appsettings.json"), root.ToJsonString());
    };

    public static HttpRequestMessage WithKey(this HttpRequestMessage request, string? key, bool asHeader = false)
    {
        if (key is not null)
        {
            if (asHeader)
            {
                request.Headers.Add("X-Api-Key", key);
            }
            else
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            }
        }

        return request;
    }
}
