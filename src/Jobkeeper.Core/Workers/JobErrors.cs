using System.Text.Json;
using Jobkeeper.Json;
using Jobkeeper.Model;

namespace Jobkeeper.Workers;

/// <summary>Turns what went wrong in a handler into a job error: the message, the exception type and a trimmed stack.</summary>
internal static class JobErrors
{
    private const int MaxStackLines = 30;
    private const int MaxStackChars = 4000;

    public static JobError FromException(Exception exception, string code = "exception")
    {
        var details = new ExceptionDetails(exception.GetType().FullName ?? exception.GetType().Name, TrimStack(exception.StackTrace))
        {
            Inner = exception.InnerException is { } inner ? $"{inner.GetType().FullName}: {inner.Message}" : null,
        };
        return new JobError
        {
            Message = string.IsNullOrWhiteSpace(exception.Message) ? exception.GetType().Name : exception.Message,
            Code = code,
            Details = JsonSerializer.SerializeToElement(details, CoreJsonContext.Default.ExceptionDetails),
        };
    }

    public static JobError Of(string code, string message) => new() { Code = code, Message = message };

    private static string? TrimStack(string? stack)
    {
        if (string.IsNullOrEmpty(stack))
        {
            return null;
        }

        var lines = stack.Split('\n', MaxStackLines + 1);
        var kept = string.Join('\n', lines.Take(MaxStackLines)).TrimEnd();
        if (kept.Length > MaxStackChars)
        {
            kept = kept[..MaxStackChars];
        }

        return lines.Length > MaxStackLines || kept.Length < stack.TrimEnd().Length ? kept + "\n   ..." : kept;
    }
}
