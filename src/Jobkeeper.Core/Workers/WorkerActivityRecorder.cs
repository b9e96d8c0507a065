using Jobkeeper.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Workers;

/// <summary>
/// Every few seconds, stores what this instance saw of its workers (<see cref="WorkerActivity"/>), so that
/// <c>GET /api/v1/workers</c> on any instance shows them all. An instance with handlers counts its own engine as seen
/// each time: an idle engine makes no claims but is there.
/// </summary>
internal sealed class WorkerActivityRecorder(WorkerActivity activity, IJobStore store, IEnumerable<JobHandlerRegistration> handlers, TimeProvider time,
    IOptions<JobkeeperOptions> options, ILogger<WorkerActivityRecorder> logger)
    : PeriodicSweep(Interval, time, logger)
{
    /// <summary>How often the rows are stored: what a worker list may lag behind.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>Rows of workers not heard from for this long are dropped.</summary>
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromHours(1);

    private readonly bool _hasHandlers = handlers.Any();
    private readonly TimeProvider _clock = time;
    private readonly string _instance = options.Value.Workers.WorkerId;

    protected override string What => "workers seen";

    protected override async Task SweepAsync(CancellationToken cancellationToken)
    {
        if (_hasHandlers)
        {
            activity.Seen(_instance, WorkerActivity.InProcess);
        }

        var rows = activity.Snapshot(_instance);
        if (rows.Count > 0)
        {
            await store.RecordWorkersAsync(_instance, rows, _clock.GetUtcNow() - ForgetAfter, cancellationToken).ConfigureAwait(false);
        }
    }
}
