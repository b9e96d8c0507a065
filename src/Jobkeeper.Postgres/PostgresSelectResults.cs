using Npgsql;

namespace Jobkeeper.Postgres;

/// <summary>Hands the result sets of the select round trip to the ops in turn, each taking as many as it added.</summary>
internal sealed class PostgresSelectResults(NpgsqlDataReader reader)
{
    private bool _started;

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
