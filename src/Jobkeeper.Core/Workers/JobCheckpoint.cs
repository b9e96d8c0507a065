using System.Text.Json;

namespace Jobkeeper.Workers;

/// <summary>The handler's saved state for one job: loaded as it was at the last save, replaced whole by each save.</summary>
public sealed class JobCheckpoint
{
    private readonly JobContext _context;
    private readonly WorkQueue _queue;
    private JsonElement? _state;

    internal JobCheckpoint(JobContext context, WorkQueue queue)
    {
        _context = context;
        _queue = queue;
        _state = context.Job.Checkpoint;
    }

    /// <summary>The saved state, or default when nothing was saved.</summary>
    public T? Get<T>() => _state is { } state ? state.Deserialize<T>(_context.SerializerOptions) : default;

    /// <summary>Saves <paramref name="state"/> durably under this attempt's lease (small JSON, a few KB).</summary>
    public async Task SaveAsync<T>(T state, CancellationToken cancellationToken = default)
    {
        var json = state is null ? (JsonElement?)null : _context.ToJson(state);
        await _queue.SaveCheckpointAsync(_context.JobId, _context.LeaseToken, json, cancellationToken).ConfigureAwait(false);
        _state = json;
    }
}
