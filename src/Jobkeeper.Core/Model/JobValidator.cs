using Jobkeeper.Errors;

namespace Jobkeeper.Model;

/// <summary>Value rules shared by every entry point (HTTP, library, import); each failure names the field.</summary>
public static class JobValidator
{
    /// <summary>The longest lease an update may give a running job (<c>lease_seconds</c>): a day.</summary>
    public static readonly TimeSpan MaxAppLease = TimeSpan.FromSeconds(JobLimits.MaxAppLeaseSeconds);

    /// <summary>Throws unless <paramref name="lease"/> is a lease an update may set: 1 s to <see cref="MaxAppLease"/>.</summary>
    public static void ValidateAppLease(TimeSpan? lease)
    {
        if (lease is { } l && (l < TimeSpan.FromSeconds(1) || l > MaxAppLease))
        {
            throw new JobValidationException("lease_seconds", $"must be from 1 to {MaxAppLease.TotalSeconds:0} seconds");
        }
    }

    /// <summary>The queue name rule, for every place a queue is named (create, claim, list, options).</summary>
    internal static string QueueRule => $"a queue name of 1 to {JobQueues.MaxLength} characters of A-Z a-z 0-9 . _ : -";

    internal static void ValidateQueue(string queue, string field)
    {
        if (!JobQueues.IsValid(queue))
        {
            throw new JobValidationException(field, "must be " + QueueRule);
        }
    }

    public static void ValidateNew(NewJob job)
    {
        if (string.IsNullOrWhiteSpace(job.Type))
        {
            throw new JobValidationException("type", "is required and must be a non-empty string, e.g. \"audio.analyze\"");
        }

        if (job.Type.Length > JobLimits.MaxTypeLength)
        {
            throw new JobValidationException("type", $"must be at most {JobLimits.MaxTypeLength} characters");
        }

        if (job.Id is not null && !JobIds.IsValid(job.Id))
        {
            throw new JobValidationException("id", $"must be 1–{JobIds.MaxLength} characters of A-Z a-z 0-9 . _ : -");
        }

        if (job.Queue is not null)
        {
            ValidateQueue(job.Queue, "queue");
        }

        if (job.Id is not null && JobIds.IsReserved(job.Id))
        {
            throw new JobValidationException("id", $"'{job.Id}' is reserved (it names a route under /api/v1/jobs); choose another id");
        }

        if (job.MaxAttempts is { } attempts && (attempts < 1 || attempts > JobLimits.MaxAttempts))
        {
            throw new JobValidationException("max_attempts", $"must be between 1 and {JobLimits.MaxAttempts}");
        }

        ValidateUniqueness(job);

        if (job.Labels is not null)
        {
            foreach (var (key, value) in job.Labels)
            {
                if (value is null)
                {
                    throw new JobValidationException($"labels.{key}", "label values must be strings, not null");
                }
            }

            ValidateLabels(job.Labels!);
        }
    }

    /// <summary>The unique key and what goes with it: a window, statuses and a debounce each need the key.</summary>
    private static void ValidateUniqueness(NewJob job)
    {
        if (job.UniqueKey is { } key && (key.Length == 0 || key.Length > JobLimits.MaxUniqueKeyLength || key.Any(char.IsControl)))
        {
            throw new JobValidationException("unique_key", $"must be 1 to {JobLimits.MaxUniqueKeyLength} characters without control characters");
        }

        CheckSeconds(job.UniqueWindowSeconds, "unique_window_seconds", "a duration in seconds; leave it out to block until the job is finished");
        CheckSeconds(job.DebounceSeconds, "debounce_seconds", "how long after the last create of a burst the job runs");
        if (job.UniqueStatuses is { Count: 0 })
        {
            throw new JobValidationException("unique_statuses", $"must name at least one status ({JobStatusNames.ValidNames}); leave it out for the unfinished ones");
        }

        if (job.UniqueKey is not null)
        {
            if (job.DebounceSeconds is not null && (job.UniqueWindowSeconds is not null || job.UniqueStatuses is not null))
            {
                throw new JobValidationException(job.UniqueWindowSeconds is not null ? "unique_window_seconds" : "unique_statuses",
                    "cannot go with debounce_seconds: a debounce folds into the key's queued job, whenever it was created; leave it out");
            }

            return;
        }

        var field = job.DebounceSeconds is not null ? "debounce_seconds" : job.UniqueWindowSeconds is not null ? "unique_window_seconds"
            : job.UniqueStatuses is not null ? "unique_statuses" : null;
        if (field is not null)
        {
            throw new JobValidationException(field, "needs a unique_key: the key names the jobs it applies to");
        }

        static void CheckSeconds(double? seconds, string field, string what)
        {
            if (seconds is { } s && (double.IsNaN(s) || s <= 0 || s > JobLimits.MaxUniqueWindowSeconds))
            {
                throw new JobValidationException(field, $"must be more than 0 and at most {JobLimits.MaxUniqueWindowSeconds} seconds: {what}");
            }
        }
    }

    public static void ValidateLabels(IEnumerable<KeyValuePair<string, string?>> labels, int existing = 0)
    {
        var count = existing;
        foreach (var (key, value) in labels)
        {
            if (string.IsNullOrEmpty(key) || key.Length > JobLimits.MaxLabelKeyLength || key.Contains(':', StringComparison.Ordinal))
            {
                throw new JobValidationException("labels", $"label keys must be 1–{JobLimits.MaxLabelKeyLength} characters without ':' (got '{Trim(key)}')");
            }

            if (value is not null && value.Length > JobLimits.MaxLabelValueLength)
            {
                throw new JobValidationException($"labels.{key}", $"must be at most {JobLimits.MaxLabelValueLength} characters");
            }

            if (++count > JobLimits.MaxLabels)
            {
                throw new JobValidationException("labels", $"a job may have at most {JobLimits.MaxLabels} labels");
            }
        }
    }

    /// <summary>Checks progress members; <paramref name="prefix"/> is how the request names them ("progress." in a PATCH, "" where they stand alone).</summary>
    public static void ValidateProgress(ProgressPatch progress, string prefix = "progress.")
    {
        if (progress.Fraction is { HasValue: true, Value: { } f } && (!double.IsFinite(f) || f < 0 || f > 1))
        {
            throw new JobValidationException(prefix + "fraction", "must be a number from 0 to 1");
        }

        if (progress.Current is { HasValue: true, Value: < 0 })
        {
            throw new JobValidationException(prefix + "current", "must not be negative");
        }

        if (progress.Total is { HasValue: true, Value: < 0 })
        {
            throw new JobValidationException(prefix + "total", "must not be negative");
        }

        if (progress.Stage is { HasValue: true, Value.Length: > JobLimits.MaxTypeLength })
        {
            throw new JobValidationException(prefix + "stage", $"must be at most {JobLimits.MaxTypeLength} characters");
        }

        if (progress.Message is { HasValue: true, Value.Length: > JobLimits.MaxTextLength })
        {
            throw new JobValidationException(prefix + "message", $"must be at most {JobLimits.MaxTextLength} characters");
        }
    }

    public static void ValidateError(JobError? error)
    {
        if (error is not null && string.IsNullOrWhiteSpace(error.Message))
        {
            throw new JobValidationException("error.message", "is required when an error is given");
        }
    }

    private static string Trim(string? text) => text is null ? "" : text.Length <= 40 ? text : text[..40] + "…";
}
