using Jobkeeper.Contracts;
using Jobkeeper.Errors;
using Jobkeeper.Model;

namespace Jobkeeper.Queues;

/// <summary>What a queue's settings may be, and how a change applies to them: the one place these rules are stated.</summary>
internal static class QueueRules
{
    public static void ValidateName(string name, string field = "name") => JobValidator.ValidateQueue(name, field);

    /// <summary>Checks settings as a whole (each field named as the API spells it, under <paramref name="prefix"/>).</summary>
    public static void Validate(QueueSettings settings, string prefix = "")
    {
        if (settings.ConcurrencyLimit is { } limit)
        {
            ValidateLimit(limit, prefix + "concurrency_limit");
        }

        if (settings.Partition is { } partition)
        {
            ValidatePartitionKey(partition.Key, prefix + "partition.key");
            if (partition.Limit is { } perKey)
            {
                ValidateLimit(perKey, prefix + "partition.limit");
            }
        }

        if (settings.RateLimit is { } rate)
        {
            if (rate.Count is < 1 or > QueueLimits.MaxRateCount)
            {
                throw new JobValidationException(prefix + "rate_limit.count", $"must be between 1 and {QueueLimits.MaxRateCount} (got {rate.Count})");
            }

            if (rate.PeriodSeconds is < 1 or > QueueLimits.MaxRatePeriodSeconds)
            {
                throw new JobValidationException(prefix + "rate_limit.period_seconds",
                    $"must be between 1 and {QueueLimits.MaxRatePeriodSeconds} seconds (got {rate.PeriodSeconds})");
            }

            if (rate.PerKey && settings.Partition is null)
            {
                throw new JobValidationException(prefix + "rate_limit.per_key", "needs a partition: set `partition` with the key to count starts by, or give per_key false");
            }
        }

        foreach (var type in settings.PausedTypes)
        {
            ValidateType(type, prefix + "type");
        }
    }

    public static void ValidateType(string? type, string field)
    {
        if (string.IsNullOrWhiteSpace(type) || type.Length > JobLimits.MaxTypeLength)
        {
            throw new JobValidationException(field, $"must be a job type of 1–{JobLimits.MaxTypeLength} characters, e.g. \"video.render\"");
        }
    }

    /// <summary>The settings after a merge patch: members given replace (null clears), absent ones stay.</summary>
    public static QueueSettings Apply(QueueSettings current, UpdateQueueRequest patch, DateTimeOffset now)
    {
        var next = current with
        {
            ConcurrencyLimit = patch.ConcurrencyLimit.GetValueOrDefault(current.ConcurrencyLimit),
            Partition = patch.Partition.GetValueOrDefault(current.Partition),
            RateLimit = patch.RateLimit.GetValueOrDefault(current.RateLimit),
        };
        Validate(next);
        return Touched(next, now);
    }

    /// <summary>The settings with the queue (or only <paramref name="type"/> in it) paused or resumed; the same settings when nothing changes.</summary>
    public static QueueSettings Pause(QueueSettings current, string? type, bool paused, DateTimeOffset now)
    {
        if (type is null)
        {
            return current.Paused == paused ? current : Touched(current with { Paused = paused }, now);
        }

        ValidateType(type, "type");
        var has = current.PausedTypes.Contains(type, StringComparer.Ordinal);
        if (has == paused)
        {
            return current;
        }

        return Touched(current with
        {
            PausedTypes = paused ? [.. current.PausedTypes, type] : [.. current.PausedTypes.Where(t => !string.Equals(t, type, StringComparison.Ordinal))],
        }, now);
    }

    private static QueueSettings Touched(QueueSettings settings, DateTimeOffset now) => settings with { UpdatedAt = now, Version = settings.Version + 1 };

    private static void ValidateLimit(int limit, string field)
    {
        if (limit is < 1 or > QueueLimits.MaxLimit)
        {
            throw new JobValidationException(field, $"must be between 1 and {QueueLimits.MaxLimit} (got {limit}); to remove the limit, give null");
        }
    }

    private static void ValidatePartitionKey(string? key, string field)
    {
        if (key == QueueLimits.TypeKey)
        {
            return;
        }

        if (key is not null && key.StartsWith(QueueLimits.LabelKeyPrefix, StringComparison.Ordinal))
        {
            var label = key[QueueLimits.LabelKeyPrefix.Length..];
            if (label.Length is >= 1 and <= JobLimits.MaxLabelKeyLength && !label.Contains(':', StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new JobValidationException(field, $"must be \"type\" or \"label:<name>\" with a label key of 1–{JobLimits.MaxLabelKeyLength} characters, e.g. \"label:user\"");
    }
}
