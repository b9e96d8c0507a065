namespace Jobkeeper.Model;

/// <summary>The <c>error.code</c> values Jobkeeper itself gives a job it fails; clients match on these names.</summary>
public static class JobErrorCodes
{
    /// <summary>The lease holder stopped renewing on the last attempt allowed.</summary>
    public const string LeaseExpired = "lease_expired";

    /// <summary>The lease holder stopped renewing and no in-process handler or external worker runs the job's type.</summary>
    public const string NoRunner = "no_runner";

    /// <summary>The process that set the job running shut down cleanly before it finished, and nothing else runs its type.</summary>
    public const string Interrupted = "interrupted";
}
