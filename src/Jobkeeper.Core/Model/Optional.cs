namespace Jobkeeper.Model;

/// <summary>A value that may be absent, as distinct from present-and-null (JSON merge patch needs both).</summary>
public readonly record struct Optional<T>(bool HasValue, T Value)
{
    public static implicit operator Optional<T>(T value) => new(true, value);

    public T GetValueOrDefault(T fallback) => HasValue ? Value : fallback;
}
