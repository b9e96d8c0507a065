using System.Text.Json;

namespace Jobkeeper.Json;

/// <summary>
/// The full JSON path of a read error, also when part of it was read by a nested serializer call (an
/// <see cref="Model.Optional{T}"/> member), whose path starts at the value it read.
/// </summary>
public static class JsonPaths
{
    private const string InnerPathKey = "jobkeeper.inner_path";

    /// <summary>The path of the error in the whole document, e.g. <c>$.progress.fraction</c>.</summary>
    public static string Of(JsonException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var inner = error.Data[InnerPathKey] as string;
        return Join(error.Path ?? "$", inner);
    }

    /// <summary>A copy of <paramref name="error"/> without a path, carrying the one it had, for the serializer around to prefix.</summary>
    internal static JsonException Relocate(JsonException error)
    {
        var relocated = new JsonException(error.Message, error);
        relocated.Data[InnerPathKey] = Of(error);
        return relocated;
    }

    private static string Join(string outer, string? inner) =>
        inner is null or "$" ? outer : outer + inner[1..];
}
