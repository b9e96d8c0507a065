using Jobkeeper.Model;
using Jobkeeper.Relational;
using Jobkeeper.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Jobkeeper.Postgres;

/// <summary>
/// What one transaction appends after its job rows were written: events, label rows, the notice to the
/// other instances, and the changes to tell this instance's observers once it committed.
/// </summary>
internal sealed class PostgresCommit
{
    private readonly List<string> _eventJobIds = [];
    private readonly List<string> _eventTypes = [];
    private readonly List<long> _eventAt = [];
    private readonly List<string?> _eventActors = [];
    private readonly List<string?> _eventDisplayNames = [];
    private readonly List<string?> _eventReasons = [];
    private readonly List<long> _eventVersions = [];
    private readonly List<string?> _eventData = [];
    private readonly List<string> _eventStatuses = [];
    private readonly List<string> _labelsReplaced = [];
    private readonly List<string> _labelJobIds = [];
    private readonly List<string> _labelKeys = [];
    private readonly List<string> _labelValues = [];
    private readonly List<long> _labelCreated = [];
    private readonly HashSet<string> _queuedTypes = new(StringComparer.Ordinal);

    private readonly List<(string Id, Job? Job, IReadOnlyList<JobEvent> Events, int FirstEvent)> _written = [];

    /// <summary>What was committed, with the events' ids, once <see cref="Committed"/> ran.</summary>
    public List<CommittedChange> Changes { get; } = [];

    public List<JobVersion> Versions { get; } = [];

    /// <summary>The store's queue settings: a job that stops running in a flow-controlled queue wakes the other instances' waiting claims.</summary>
    public Relational.Queues.QueueFlowState? Flow { get; init; }

    /// <summary>The job rows of the transaction (written first, in one round trip).</summary>
    public PostgresRowWrites Rows { get; } = new();

    public bool HasEvents => _eventJobIds.Count > 0;

    /// <summary>The job of the last event the transaction appends; null when it appends none.</summary>
    public string? LastEventJobId => HasEvents ? _eventJobIds[^1] : null;

    /// <summary>The id of the last event the committed transaction appended; 0 when it appended none.</summary>
    public long LastEventId { get; private set; }

    public void Clear()
    {
        foreach (var list in new System.Collections.IList[]
        {
            _eventJobIds, _eventTypes, _eventAt, _eventActors, _eventDisplayNames, _eventReasons, _eventVersions, _eventData, _eventStatuses,
            _labelsReplaced, _labelJobIds, _labelKeys, _labelValues, _labelCreated, _written, Changes, Versions,
        })
        {
            list.Clear();
        }

        _queuedTypes.Clear();
        Rows.Clear();
        LastEventId = 0;
    }

    /// <summary>A job written with its events; <paramref name="labelsChanged"/> when its label rows must be rewritten.</summary>
    public void Written(Job job, IReadOnlyList<JobEvent> events, bool isNew, bool labelsChanged)
    {
        _written.Add((job.Id, job, events, _eventJobIds.Count));
        foreach (var e in events)
        {
            _eventJobIds.Add(e.JobId);
            _eventTypes.Add(e.Type);
            _eventAt.Add(TimeMicros.From(e.At));
            _eventActors.Add(e.Actor);
            _eventDisplayNames.Add(e.DisplayName);
            _eventReasons.Add(e.Reason);
            _eventVersions.Add(e.Version);
            _eventData.Add(JobColumns.Json(e.Data) as string);
            _eventStatuses.Add(job.Status.ToName());
        }

        if (labelsChanged && !isNew)
        {
            _labelsReplaced.Add(job.Id);
        }

        if (isNew || labelsChanged)
        {
            var created = TimeMicros.From(job.CreatedAt);
            foreach (var (key, value) in job.Labels)
            {
                _labelJobIds.Add(job.Id);
                _labelKeys.Add(key);
                _labelValues.Add(value);
                _labelCreated.Add(created);
            }
        }

        if (job.Status == JobStatus.Queued)
        {
            _queuedTypes.Add(job.Type);
        }
        else if (Flow is { } flow && Relational.Queues.QueueFlowSignals.Frees(job, events, flow.Current))
        {
            _queuedTypes.Add(job.Type);
        }

        Versions.Add(new JobVersion(job.Id, job.Version));
    }

    public void Deleted(string id)
    {
        _written.Add((id, null, [], 0));
        Versions.Add(new JobVersion(id, 0));
    }

    /// <summary>
    /// After the commit: the changes with their events' ids. The ids were taken as one block ending at
    /// <paramref name="lastEventId"/>, in the order the events were added. With 0 (unknown: a commit confirmed after
    /// its connection broke, whose last event is gone already because its job was deleted since) the changes go
    /// without their events.
    /// </summary>
    public void Committed(long lastEventId)
    {
        LastEventId = lastEventId;
        var first = lastEventId - _eventJobIds.Count + 1;
        foreach (var (id, job, events, firstEvent) in _written)
        {
            var stored = new JobEvent[lastEventId > 0 ? events.Count : 0];
            for (var i = 0; i < stored.Length; i++)
            {
                stored[i] = events[i] with { Id = first + firstEvent + i };
            }

            Changes.Add(new CommittedChange(id, job, stored));
        }
    }

    /// <summary>Adds the statements that finish the transaction, COMMIT last. The first result (when events were written) is the last event id.</summary>
    public void AddFinish(NpgsqlBatch batch, string channel, string instance)
    {
        if (HasEvents)
        {
            batch.BatchCommands.Add(Command(PostgresJobSql.TakeEventIds, (long)_eventJobIds.Count));
            batch.BatchCommands.Add(Command(PostgresJobSql.InsertEvents,
                (long)_eventJobIds.Count,
                TextArray(_eventJobIds), TextArray(_eventTypes), _eventAt.ToArray(), TextArray(_eventActors),
                _eventVersions.ToArray(), TextArray(_eventData), TextArray(_eventStatuses), TextArray(_eventDisplayNames), TextArray(_eventReasons)));
        }

        if (_labelsReplaced.Count > 0)
        {
            batch.BatchCommands.Add(Command(PostgresJobSql.DeleteLabels, (object)TextArray(_labelsReplaced)));
        }

        if (_labelJobIds.Count > 0)
        {
            batch.BatchCommands.Add(Command(PostgresJobSql.InsertLabels,
                TextArray(_labelJobIds), TextArray(_labelKeys), TextArray(_labelValues), _labelCreated.ToArray()));
        }

        if (Versions.Count > 0)
        {
            foreach (var payload in PostgresChangeNotice.Encode(instance, HasEvents, _queuedTypes, Versions))
            {
                batch.BatchCommands.Add(Command(PostgresJobSql.Notify, channel, payload));
            }
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
    }

    public static NpgsqlBatchCommand Command(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(Parameter(value));
        }

        return command;
    }

    public static NpgsqlParameter Parameter(object? value) => value switch
    {
        null or DBNull => new NpgsqlParameter { Value = DBNull.Value },
        string[] texts => new NpgsqlParameter { Value = texts, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text },
        _ => new NpgsqlParameter { Value = value },
    };

    private static string?[] TextArray<T>(List<T> values) where T : class? => values.Cast<string?>().ToArray();
}
