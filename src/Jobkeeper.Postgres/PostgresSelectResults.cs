using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>Hands the result sets of the select round trip to the ops in turn, each taking as many as it added.</summary>
/// <param name="started">True when the reader's current result set was read already (the next op's is the one after it).</param>
internal sealed class PostgresSelectResults(NpgsqlDataReader reader, bool started = false)
{
    private bool _started = started;

    public async Task<NpgsqlDataReader> NextAsync(CancellationToken cancellationToken)
    {
        if (_started && !await reader.NextResultAsync(cancellationToken).ConfigureAwait(false))
        {
            throw new InvalidOperationException("A select of the writer returned fewer result sets than it sent statements.");
        }

        _started = true;
        return reader;
    }
}
