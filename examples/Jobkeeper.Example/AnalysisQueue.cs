using System.Threading.Channels;

namespace Jobkeeper.Example;

/// <summary>
/// Hands job ids from the HTTP endpoint to <see cref="AnalysisWorker"/>. Only ids travel here: the job
/// itself is already committed in Jobkeeper, so an id lost with the process is found again at start-up.
/// </summary>
public sealed class AnalysisQueue
{
    private readonly Channel<string> _channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = false });

    public void Enqueue(string jobId)
    {
        // An unbounded channel accepts every write until it is completed, which never happens here.
        if (!_channel.Writer.TryWrite(jobId))
        {
            throw new InvalidOperationException("The analysis queue is closed.");
        }
    }

    public IAsyncEnumerable<string> ReadAllAsync(CancellationToken cancellationToken) => _channel.Reader.ReadAllAsync(cancellationToken);
}
