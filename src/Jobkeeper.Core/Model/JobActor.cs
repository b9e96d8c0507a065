using System.Diagnostics.CodeAnalysis;
using Jobkeeper.Storage;

namespace Jobkeeper.Model;

/// <summary>
/// Who asks for a change, and why, as the change's events record it. <see cref="Name"/> is the actor: the identity
/// the history vouches for (behind API keys, the key's name, which a caller cannot choose). <see cref="DisplayName"/>
/// is the name a caller gave for themselves on top of it (<c>X-Actor</c>, <c>--actor</c>, the dashboard's name field):
/// kept beside the actor, never in its place, so no caller can pass for another. <see cref="Reason"/> is why, in
/// their words. A plain string converts to an actor of that name.
/// </summary>
/// <param name="Name">The actor; null for the manager's <see cref="JobkeeperOptions.DefaultActor"/>.</param>
public sealed record JobActor(string? Name)
{
    /// <summary>The name the caller gave for themselves, unverified; null when none, or when it is the actor's own.</summary>
    public string? DisplayName { get; init; }

    /// <summary>Why the change was asked for, as the caller put it.</summary>
    public string? Reason { get; init; }

    [return: NotNullIfNotNull(nameof(name))]
    public static implicit operator JobActor?(string? name) => FromName(name);

    [return: NotNullIfNotNull(nameof(name))]
    public static JobActor? FromName(string? name) => name is null ? null : new JobActor(name);

    /// <summary>
    /// The replacement with this actor's display name and reason on each of its events (the rules name the actor
    /// itself). Every event of one change shares them: a reader sees on each line who asked and why.
    /// </summary>
    public JobReplacement? Sign(JobReplacement? replacement)
    {
        if (replacement is null || (DisplayName is null && Reason is null))
        {
            return replacement;
        }

        return replacement with { Events = [.. replacement.Events.Select(e => e with { DisplayName = DisplayName, Reason = Reason })] };
    }
}
