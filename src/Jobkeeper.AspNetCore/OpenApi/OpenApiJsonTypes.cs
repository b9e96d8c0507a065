using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Jobkeeper.AspNetCore.Api;
using Jobkeeper.Json;

namespace Jobkeeper.AspNetCore.OpenApi;

/// <summary>
/// Jobkeeper's types as the app's JSON options see them, which is what OpenAPI schemas are made from: with the names
/// the API writes (snake_case), whatever the app's naming policy.
/// </summary>
internal sealed class OpenApiJsonTypes : IJsonTypeInfoResolver
{
    public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options)
    {
        if (type.Namespace is not { } ns || !ns.StartsWith("Jobkeeper", StringComparison.Ordinal))
        {
            return null;
        }

        var info = ((IJsonTypeInfoResolver)JobkeeperJsonContext.Default).GetTypeInfo(type, options);
        if (info is not { Kind: JsonTypeInfoKind.Object })
        {
            return info;
        }

        // The context's own options carry its snake_case policy; the app's options may name members differently.
        var own = JobkeeperJsonContext.Default.GetTypeInfo(type)!;
        for (var i = 0; i < info.Properties.Count && i < own.Properties.Count; i++)
        {
            info.Properties[i].Name = own.Properties[i].Name;
        }

        return info;
    }
}
