namespace Jobkeeper.Model;

/// <summary>
/// The limits of what a job, a prompt and a worker call may hold: the one place they are stated. The server checks
/// them, the API document shows them (through the bodies' attributes), and clients may check them before sending.
/// </summary>
public static class JobLimits
{
    public const int MaxTypeLength = 200;
    public const int MaxLabels = 64;
    public const int MaxLabelKeyLength = 100;
    public const int MaxLabelValueLength = 1000;
    public const int MaxAttempts = 1000;

    /// <summary>The longest free text (a progress message, an error message, an answer's reason).</summary>
    public const int MaxTextLength = 10_000;

    /// <summary>The longest actor or display name accepted over HTTP.</summary>
    public const int MaxActorNameLength = 200;

    /// <summary>The longest reason accepted in the <c>X-Reason</c> header.</summary>
    public const int MaxReasonLength = 2_000;

    /// <summary>The longest lease an update may give a running job (<c>lease_seconds</c> of a patch): a day.</summary>
    public const int MaxAppLeaseSeconds = 86_400;

    /// <summary>The most jobs one batch create may hold.</summary>
    public const int MaxBatchCreate = 10_000;

    /// <summary>The most jobs one claim may take.</summary>
    public const int MaxClaim = 1000;

    /// <summary>The shortest and the longest lease of a claimed job, in seconds.</summary>
    public const int MinLeaseSeconds = 1;

    /// <inheritdoc cref="MinLeaseSeconds"/>
    public const int MaxLeaseSeconds = 3600;

    /// <summary>The longest a claim may wait for work, in seconds.</summary>
    public const int MaxWaitSeconds = 30;

    /// <summary>The longest <c>unique_key</c> (and <c>Idempotency-Key</c>).</summary>
    public const int MaxUniqueKeyLength = 255;

    /// <summary>The longest window of a unique key, and the longest debounce, in seconds: a year.</summary>
    public const int MaxUniqueWindowSeconds = 31_536_000;

    public const int MaxPromptKeyLength = 200;
    public const int MaxQuestionLength = 10_000;
    public const int MaxPromptOptions = 100;

    /// <summary>The longest a prompt may stay open, in seconds: a year.</summary>
    public const int MaxPromptExpirySeconds = 31_536_000;

    /// <summary>
    /// How deep free-form JSON (input, result, details, checkpoint, answers, schemas) may nest. It is written back
    /// inside responses a few levels deep (a job in a list, a prompt's answer in a job), and readers, the server's
    /// writer included, stop at 64 levels: half of that leaves the envelope room.
    /// </summary>
    public const int MaxFreeFormDepth = 32;
}
