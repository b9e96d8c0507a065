namespace Jobkeeper.Contracts;

/// <summary>
/// An RFC 9457 problem, as every error answer carries it (<c>application/problem+json</c>). A refused request names the
/// member that was wrong in <see cref="Errors"/> (<c>{"progress.fraction": ["must be a number from 0 to 1, not ..."]}</c>),
/// and <see cref="Detail"/> says the same in one line.
/// </summary>
public sealed record ProblemResponse(string? Type, string? Title, int? Status, string? Detail)
{
    public string? Instance { get; init; }

    /// <summary>For a refused request: the member at fault (its JSON path, <c>body</c> for the whole) and what is expected of it.</summary>
    public IReadOnlyDictionary<string, string[]>? Errors { get; init; }
}
