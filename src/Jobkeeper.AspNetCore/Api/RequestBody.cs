using System.IO.Pipelines;
using System.Text.Json;
using Jobkeeper.Errors;
using Microsoft.AspNetCore.Http;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>Reads a JSON request body within the size limit and hands it to a parser, field by field.</summary>
internal static class RequestBody
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64, AllowDuplicateProperties = false };

    /// <summary>
    /// Parses the whole body with <paramref name="parse"/> while the request's buffer is still held:
    /// the document reads Kestrel's pooled memory without copying, so whatever <paramref name="parse"/>
    /// keeps must be copied out (strings, <c>JsonElement.Clone()</c>) before this returns.
    /// </summary>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, long limit, Func<JsonElement, T> parse, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit)
        {
            throw new PayloadTooLargeException(limit);
        }

        var reader = request.BodyReader;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                throw new PayloadTooLargeException(limit);
            }

            var buffer = read.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                throw new PayloadTooLargeException(limit);
            }

            if (!read.IsCompleted)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            try
            {
                if (buffer.Length == 0)
                {
                    throw new JobValidationException("body", "is empty; send a JSON object");
                }

                using var document = Parse(buffer);
                return parse(document.RootElement);
            }
            finally
            {
                reader.AdvanceTo(buffer.End);
            }
        }
    }

    private static JsonDocument Parse(System.Buffers.ReadOnlySequence<byte> buffer)
    {
        try
        {
            return JsonDocument.Parse(buffer, Options);
        }
        catch (JsonException ex)
        {
            throw new JobValidationException("body", $"is not valid JSON: {JsonErrorText(ex)} (line {(ex.LineNumber ?? 0) + 1}, byte {ex.BytePositionInLine ?? 0})");
        }
        catch (InvalidOperationException)
        {
            throw new JobValidationException("body", "contains an invalid Unicode escape (a lone surrogate such as \\ud800)");
        }
    }

    /// <summary>The parser's reason without its position suffix (which is reported separately).</summary>
    private static string JsonErrorText(JsonException ex)
    {
        var text = ex.Message;
        var cut = text.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? text[..cut] : text).TrimEnd(' ', '.', '|');
    }
}

/// <summary>The request body is over the configured limit.</summary>
internal sealed class PayloadTooLargeException(long limit)
    : Exception($"The request body is larger than the limit of {limit} bytes. Send less data, or raise Jobkeeper:MaxRequestBodyBytes.")
{
    public long Limit { get; } = limit;
}
