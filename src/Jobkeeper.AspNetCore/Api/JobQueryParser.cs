using System.Globalization;
using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;
using Jobkeeper.Storage;
using Microsoft.AspNetCore.Http;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>Reads the list filters from the query string: <c>status=a,b&amp;type=&amp;queue=&amp;label=k:v&amp;q=&amp;created_after=&amp;created_before=&amp;limit=&amp;cursor=</c>.</summary>
internal static class JobQueryParser
{
    private static readonly string[] Known = ["status", "type", "queue", "label", "q", "created_after", "created_before", "sort", "limit", "cursor"];

    public static JobQuery Parse(IQueryCollection query)
    {
        foreach (var key in query.Keys)
        {
            if (Array.IndexOf(Known, key) < 0)
            {
                throw new JobValidationException(key, $"is not a known filter; use: {string.Join(", ", Known)}");
            }
        }

        var statuses = new List<JobStatus>();
        foreach (var value in query["status"])
        {
            foreach (var name in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!JobStatusNames.TryParse(name, out var status))
                {
                    throw new JobValidationException("status", $"'{ContractErrors.Shorten(name)}' is not a status; use one of: {JobStatusNames.ValidNames}");
                }

                if (!statuses.Contains(status))
                {
                    statuses.Add(status);
                }
            }
        }

        var labels = new List<KeyValuePair<string, string>>();
        foreach (var value in query["label"])
        {
            var colon = value?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            if (colon <= 0)
            {
                throw new JobValidationException("label", $"must be key:value, e.g. label=episode_id:42 (got '{ContractErrors.Shorten(value ?? "")}')");
            }

            labels.Add(new(value![..colon], value[(colon + 1)..]));
        }

        var limit = JobQuery.DefaultLimit;
        if (Single(query, "limit") is { } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > JobQuery.MaxLimit))
        {
            throw new JobValidationException("limit", $"must be a whole number from 1 to {JobQuery.MaxLimit} (got '{ContractErrors.Shorten(limitText)}')");
        }

        JobCursor? cursor = null;
        if (Single(query, "cursor") is { } cursorText)
        {
            cursor = JobCursor.TryDecode(cursorText, out var decoded)
                ? decoded
                : throw new JobValidationException("cursor", "is not a cursor this server issued; pass next_cursor from the previous page unchanged");
        }

        var order = JobOrder.Default;
        if (Single(query, "sort") is { } sortText && !JobOrder.TryParse(sortText, out order))
        {
            throw new JobValidationException("sort", $"'{ContractErrors.Shorten(sortText)}' is not an order; use one of {string.Join(", ", JobOrder.Names)}, with a leading - for descending (e.g. -updated)");
        }

        return new JobQuery
        {
            Order = order,
            Statuses = statuses,
            Type = Single(query, "type"),
            Queue = Single(query, "queue"),
            Labels = labels,
            Search = JobSearch.Parse(Single(query, "q")),
            CreatedAfter = Single(query, "created_after") is { } after ? ParseTimestamp(after, "created_after") : null,
            CreatedBefore = Single(query, "created_before") is { } before ? ParseTimestamp(before, "created_before") : null,
            Limit = limit,
            After = cursor,
        };
    }

    /// <summary>
    /// The filters of a request body (<see cref="JobFilter"/>: the list's query parameters as JSON), read by the same rules as
    /// the list's; a problem names the member as <c>filter.status</c> etc.
    /// </summary>
    public static JobQuery FromFilter(JobFilter? filter)
    {
        var values = new Dictionary<string, Microsoft.Extensions.Primitives.StringValues>(StringComparer.Ordinal);
        if (filter is not null)
        {
            Add(values, "status", filter.Status);
            Add(values, "type", filter.Type);
            Add(values, "queue", filter.Queue);
            Add(values, "q", filter.Q);
            Add(values, "created_after", filter.CreatedAfter?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            Add(values, "created_before", filter.CreatedBefore?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            if (filter.Label is { Count: > 0 } labels)
            {
                values["label"] = new Microsoft.Extensions.Primitives.StringValues([.. labels]);
            }
        }

        try
        {
            return Parse(new QueryCollection(values));
        }
        catch (JobValidationException e)
        {
            throw new JobValidationException("filter." + e.Field, e.Problem);
        }

        static void Add(Dictionary<string, Microsoft.Extensions.Primitives.StringValues> values, string name, string? value)
        {
            if (value is not null)
            {
                values[name] = value;
            }
        }
    }

    private static string? Single(IQueryCollection query, string name)
    {
        var values = query[name];
        if (values.Count > 1)
        {
            throw new JobValidationException(name, "may be given only once");
        }

        return values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
    }

    private static DateTimeOffset ParseTimestamp(string text, string field) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : throw new JobValidationException(field, $"must be an ISO 8601 timestamp such as 2026-01-31T12:00:00Z, not '{ContractErrors.Shorten(text)}'");
}
