using System.Text.Json;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// Checks free-form JSON of a request (input, result, details, checkpoint, answers, schemas). Every string and name is
/// decoded once, so that text that cannot become a .NET string (lone surrogate escapes) is refused now, not when the
/// job is read; and it may nest at most <see cref="JobLimits.MaxFreeFormDepth"/> levels, so every response holding it
/// can be written.
/// </summary>
internal static class FreeForm
{
    public static void Check(JsonElement value, string field) => Check(value, field, 0);

    private static void Check(JsonElement value, string field, int depth)
    {
        if (value.ValueKind is JsonValueKind.Array or JsonValueKind.Object && ++depth > JobLimits.MaxFreeFormDepth)
        {
            throw new JobValidationException(field, $"nests arrays and objects more than {JobLimits.MaxFreeFormDepth} levels deep; flatten it");
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                try
                {
                    _ = value.GetString();
                }
                catch (InvalidOperationException)
                {
                    throw new JobValidationException(field, "contains an invalid Unicode escape (a lone surrogate)");
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in value.EnumerateArray())
                {
                    Check(item, field, depth);
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    try
                    {
                        _ = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        throw new JobValidationException(field, "contains a member name with an invalid Unicode escape (a lone surrogate)");
                    }

                    Check(property.Value, field, depth);
                }

                break;
        }
    }
}
