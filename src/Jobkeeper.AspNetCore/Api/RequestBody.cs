using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.Unicode;
using Jobkeeper.Errors;
using Microsoft.AspNetCore.Http;

namespace Jobkeeper.AspNetCore.Api;

/// <summary>
/// Reads a JSON request body within the size limit into its contract type, and checks it against the type's rules
/// (<see cref="ContractChecks"/>); whatever is wrong is refused naming the member (<see cref="ContractErrors"/>).
/// </summary>
internal static class RequestBody
{
    /// <summary>The body as <paramref name="typeInfo"/>'s type, read straight from Kestrel's buffer (the values are copies).</summary>
    public static async Task<T> ReadJsonAsync<T>(HttpRequest request, long limit, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
        where T : class
    {
        if (request.ContentLength > limit)
        {
            throw TooLarge(request, limit);
        }

        var reader = request.BodyReader;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (BadHttpRequestException ex)
            {
                // Kestrel could not read the body (over its limit, a bad chunk, too slow): the rest cannot be skipped either.
                CloseAfterAnswer(request);
                if (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    throw new PayloadTooLargeException(limit);
                }

                throw;
            }

            var buffer = read.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                throw TooLarge(request, limit);
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

                var body = Deserialize(buffer, typeInfo);
                ContractChecks.Check(body, typeInfo);
                return body;
            }
            finally
            {
                reader.AdvanceTo(buffer.End);
            }
        }
    }

    private static PayloadTooLargeException TooLarge(HttpRequest request, long limit)
    {
        CloseAfterAnswer(request);
        return new PayloadTooLargeException(limit);
    }

    /// <summary>
    /// The rest of the body stays unread, so the connection cannot carry another request: the answer says
    /// <c>Connection: close</c> (Kestrel then closes it), and a keep-alive client opens a new one instead of
    /// sending its next request into a connection that is going away.
    /// </summary>
    private static void CloseAfterAnswer(HttpRequest request) => request.HttpContext.Response.Headers.Connection = "close";

    private static T Deserialize<T>(ReadOnlySequence<byte> buffer, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        EnsureUtf8(buffer);
        try
        {
            var reader = new Utf8JsonReader(buffer);
            return JsonSerializer.Deserialize(ref reader, typeInfo)
                ?? throw new JobValidationException("body", "must be a JSON object, not null");
        }
        catch (JsonException ex)
        {
            throw ContractErrors.Explain(ex, typeInfo, buffer);
        }
    }

    /// <summary>
    /// JSON is UTF-8 (RFC 8259). The parser checks the structure, not the bytes inside names and strings, which would
    /// fail only when read, deep in a request parser; so the whole body is checked once, here.
    /// </summary>
    private static void EnsureUtf8(ReadOnlySequence<byte> buffer)
    {
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> bytes;
            if (buffer.IsSingleSegment)
            {
                bytes = buffer.FirstSpan;
            }
            else
            {
                // Larger bodies arrive in pieces that may split a character: checked as one block.
                rented = ArrayPool<byte>.Shared.Rent((int)buffer.Length);
                buffer.CopyTo(rented);
                bytes = rented.AsSpan(0, (int)buffer.Length);
            }

            if (!Utf8.IsValid(bytes))
            {
                throw new JobValidationException("body", $"is not UTF-8 (the first invalid byte is at offset {FirstInvalid(bytes)}); send JSON as UTF-8 text");
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static int FirstInvalid(ReadOnlySpan<byte> bytes)
    {
        var at = 0;
        while (at < bytes.Length && Rune.DecodeFromUtf8(bytes[at..], out _, out var consumed) == OperationStatus.Done)
        {
            at += consumed;
        }

        return at;
    }
}

/// <summary>The request body is over the configured limit.</summary>
internal sealed class PayloadTooLargeException(long limit)
    : Exception($"The request body is larger than the limit of {limit} bytes. Send less data, or raise Jobkeeper:MaxRequestBodyBytes.")
{
    public long Limit { get; } = limit;
}
