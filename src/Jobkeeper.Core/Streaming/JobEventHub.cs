using System.Threading.Channels;
using Jobkeeper.Storage;

namespace Jobkeeper.Streaming;

/// <summary>
/// Fans committed events out to live subscribers, in commit order, straight from the store's writer. Each
/// subscriber has a bounded buffer: one that falls too far behind is cut off (told so), so a slow reader
/// never holds up the writer or the other subscribers.
/// </summary>
public sealed class JobEventHub : IJobStoreObserver, IJobFeedObserver
{
    private readonly Lock _lock = new();
    private volatile Subscription[] _subscriptions = [];

    /// <summary>Subscribes to every event committed from now on; <paramref name="buffer"/> events may wait unread.</summary>
    public Subscription Subscribe(int buffer = 1024)
    {
        var subscription = new Subscription(this, buffer);
        lock (_lock)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        return subscription;
    }

    public void JobsCommitted(IReadOnlyList<CommittedChange> changes)
    {
        var subscriptions = _subscriptions;
        if (subscriptions.Length == 0)
        {
            return;
        }

        foreach (var change in changes)
        {
            if (change.Events.Count == 0)
            {
                continue;
            }

            var type = change.Job?.Type;
            var status = change.Job?.Status;
            foreach (var e in change.Events)
            {
                foreach (var subscription in subscriptions)
                {
                    subscription.Offer(e, type, status);
                }
            }
        }
    }

    public bool WantsFeed => _subscriptions.Length > 0;

    /// <summary>A shared store's events, from every instance, in id order (it sends no events through <see cref="JobsCommitted"/>).</summary>
    public void FeedCommitted(IReadOnlyList<FeedEvent> events)
    {
        var subscriptions = _subscriptions;
        foreach (var (e, type, status) in events)
        {
            foreach (var subscription in subscriptions)
            {
                subscription.Offer(e, type, status);
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_lock)
        {
            _subscriptions = _subscriptions.Where(s => s != subscription).ToArray();
        }
    }

    /// <summary>One live reader. Dispose it when done.</summary>
    public sealed class Subscription : IDisposable
    {
        private readonly JobEventHub _hub;
        private readonly Channel<LiveEvent> _channel;

        internal Subscription(JobEventHub hub, int buffer)
        {
            _hub = hub;
            _channel = Channel.CreateBounded<LiveEvent>(new BoundedChannelOptions(Math.Max(1, buffer))
            {
                SingleReader = true,
                SingleWriter = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }

        /// <summary>True once the reader fell more than its buffer behind; the stream ends and it must resume from the store.</summary>
        public bool Overflowed { get; private set; }

        public ChannelReader<LiveEvent> Events => _channel.Reader;

        internal void Offer(Model.JobEvent e, string? jobType, Model.JobStatus? jobStatus)
        {
            if (!_channel.Writer.TryWrite(new LiveEvent(e, jobType, jobStatus)) && !Overflowed)
            {
                Overflowed = true;
                _channel.Writer.TryComplete();
            }
        }

        public void Dispose()
        {
            _channel.Writer.TryComplete();
            _hub.Remove(this);
        }
    }
}

/// <summary>An event as committed, with its job's type and status after the change (null when the job was deleted).</summary>
public sealed record LiveEvent(Model.JobEvent Event, string? JobType, Model.JobStatus? JobStatus);
