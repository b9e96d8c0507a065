using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Jobkeeper.Sqlite;

/// <summary>
/// A write statement the writer runs for nearly every job (insert, update, event). It binds by position
/// straight through SQLitePCL, the layer under Microsoft.Data.Sqlite: that library looks every parameter
/// up by name on every execution, which measured as about a third of the writer's time.
/// </summary>
internal sealed class SqliteHotStatement : IDisposable
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private readonly int[] _indexes;

    /// <param name="parameters">The statement's parameter names in the order values are bound.</param>
    public SqliteHotStatement(SqliteConnection connection, string sql, IReadOnlyList<string> parameters)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The connection is not open.");
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v3(_db, sql, raw.SQLITE_PREPARE_PERSISTENT, out _statement, out _), _db);
        _indexes = new int[parameters.Count];
        for (var i = 0; i < parameters.Count; i++)
        {
            _indexes[i] = raw.sqlite3_bind_parameter_index(_statement, parameters[i]);
            if (_indexes[i] == 0)
            {
                throw new ArgumentException($"The statement has no parameter {parameters[i]}.", nameof(parameters));
            }
        }
    }

    public int ParameterCount => _indexes.Length;

    public void Bind(int position, object? value)
    {
        var index = _indexes[position];
        var rc = value switch
        {
            null or DBNull => raw.sqlite3_bind_null(_statement, index),
            string text => raw.sqlite3_bind_text(_statement, index, text),
            long number => raw.sqlite3_bind_int64(_statement, index, number),
            int number => raw.sqlite3_bind_int64(_statement, index, number),
            double number => raw.sqlite3_bind_double(_statement, index, number),
            bool flag => raw.sqlite3_bind_int64(_statement, index, flag ? 1 : 0),
            _ => throw new ArgumentException($"Cannot bind a {value.GetType().Name}.", nameof(value)),
        };
        SqliteException.ThrowExceptionForRC(rc, _db);
    }

    public void Bind(object[] values, int offset = 0)
    {
        for (var i = 0; i < values.Length; i++)
        {
            Bind(offset + i, values[i]);
        }
    }

    /// <summary>Runs the statement to completion; returns the number of rows it changed.</summary>
    public int Execute()
    {
        try
        {
            var rc = raw.sqlite3_step(_statement);
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }

            return raw.sqlite3_changes(_db);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    public void Dispose() => _statement.Dispose();
}
