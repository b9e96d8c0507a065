namespace Jobkeeper.Relational;

/// <summary>What differs between the stores in the SQL they share: parameters, lists of values, index hints.</summary>
internal interface ISqlDialect
{
    /// <summary>How the parameter called <paramref name="name"/>, the <paramref name="position"/>-th of its statement (from 1), is written.</summary>
    string Placeholder(string name, int position);

    /// <summary>A condition that <paramref name="column"/> is one of <paramref name="values"/>, its parameters added to <paramref name="parameters"/>.</summary>
    string AnyOf(SqlParameters parameters, string column, string name, IReadOnlyList<string> values);

    /// <summary>The hint after a table that makes the planner use <paramref name="index"/>, or nothing where it picks it unasked.</summary>
    string IndexedBy(string index);

    /// <summary>
    /// Whether a listing of several statuses runs one index walk per status and merges them, because the planner
    /// would otherwise sort every match (each walk stops after a page).
    /// </summary>
    bool ListsStatusesApart { get; }

    /// <summary>
    /// A condition that the job <c>j</c>'s searchable text (type, labels, input, result, error) has every one of
    /// <paramref name="words"/> (letters and digits only, lower-cased: see <c>JobSearch</c>), through the store's full-text index.
    /// </summary>
    string HasWords(SqlParameters parameters, IReadOnlyList<string> words);

    /// <summary>What follows a claim's select so that it locks the rows it returns, passing over rows others hold (or nothing).</summary>
    string LockSkippingLocked { get; }

    /// <summary>
    /// The partition key of a job from its type, labels (JSON text) and queue, as SQL over those three expressions: null when the
    /// queue is not partitioned, else the type or the label's value ('' without that label). The one place the rule is stated.
    /// </summary>
    string PartitionKeyOf(string type, string labels, string queue);

    /// <summary>
    /// One statement that returns the head of each of several partition keys (the key, then the job's columns), in the keys'
    /// order; each head is <see cref="Queues.QueueFlowSql.HeadOf"/> with that key and offset.
    /// </summary>
    string HeadsOfKeys(SqlParameters parameters, string queue, string now, string filters, IReadOnlyList<string> keys, IReadOnlyList<int> offsets);
}

/// <summary>The parameters of one statement being built, in the order their placeholders were handed out.</summary>
internal sealed class SqlParameters(ISqlDialect dialect)
{
    private readonly List<KeyValuePair<string, object>> _values = [];

    public IReadOnlyList<KeyValuePair<string, object>> Values => _values;

    /// <summary>Adds a value; returns its placeholder for the statement's text.</summary>
    public string Add(string name, object value)
    {
        var placeholder = dialect.Placeholder(name, _values.Count + 1);
        _values.Add(new(placeholder, value));
        return placeholder;
    }
}

/// <summary>A statement's text and its parameters by placeholder, in placeholder order (values are never spliced into the text).</summary>
internal sealed record SqlQuery(string Text, IReadOnlyList<KeyValuePair<string, object>> Parameters);
