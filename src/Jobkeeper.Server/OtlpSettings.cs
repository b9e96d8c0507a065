namespace Jobkeeper.Server;

/// <summary>Where <c>jobkeeper serve</c> sends its traces and metrics over OTLP (<c>Jobkeeper:Otlp</c>); nothing is sent without an endpoint.</summary>
public sealed class OtlpSettings
{
    public const string Grpc = "grpc";
    public const string HttpProtobuf = "http/protobuf";

    /// <summary>The collector's base address, e.g. http://127.0.0.1:4317 (gRPC) or http://127.0.0.1:4318 (HTTP: /v1/traces and /v1/metrics are added).</summary>
    public string? Endpoint { get; set; }

    /// <summary><see cref="Grpc"/> or <see cref="HttpProtobuf"/>, as OTEL_EXPORTER_OTLP_PROTOCOL spells them.</summary>
    public string Protocol { get; set; } = Grpc;

    /// <summary>The <c>service.name</c> of everything sent.</summary>
    public string ServiceName { get; set; } = "jobkeeper";

    /// <summary>Null when the settings can be used, else what is wrong and how to fix it.</summary>
    public string? Problem()
    {
        if (Endpoint is null)
        {
            return null;
        }

        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return $"Endpoint: '{Endpoint}' is not an http:// or https:// address; give the collector's, e.g. http://127.0.0.1:4317";
        }

        if (Protocol is not (Grpc or HttpProtobuf))
        {
            return $"Protocol: '{Protocol}' is not an OTLP protocol; use {Grpc} or {HttpProtobuf}";
        }

        return string.IsNullOrWhiteSpace(ServiceName) ? "ServiceName: must not be empty" : null;
    }
}
