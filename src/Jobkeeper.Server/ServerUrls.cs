using System.Net;
using System.Net.Sockets;

namespace Jobkeeper.Server;

/// <summary>The addresses <c>jobkeeper serve</c> listens on (<c>Jobkeeper:Urls</c>, <c>--urls</c>): checked before anything starts.</summary>
internal static class ServerUrls
{
    /// <summary>Splits and checks the ';'-separated addresses; throws <see cref="InvalidOperationException"/> naming one that is no URL.</summary>
    public static string[] Parse(string urls)
    {
        var list = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (list.Length == 0)
        {
            throw new InvalidOperationException("--urls (Jobkeeper:Urls) is empty; give an address such as http://127.0.0.1:8080.");
        }

        foreach (var url in list)
        {
            _ = Address(url);
        }

        return list;
    }

    /// <summary>
    /// Throws <see cref="IOException"/> when another process already listens on one of the ports, so the server stops
    /// before it opens (or creates) its database. Port 0 (any free port) and host names other than localhost are left
    /// to Kestrel.
    /// </summary>
    public static void EnsurePortsFree(IEnumerable<string> urls)
    {
        foreach (var url in urls)
        {
            var address = Address(url);
            if (address.IsUnixPipe || address.Port == 0 || Ip(address.Host) is not { } ip)
            {
                continue;
            }

            using var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            if (!OperatingSystem.IsWindows())
            {
                // As Kestrel does: a port held only by connections closing after a restart is free.
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            }

            try
            {
                socket.Bind(new IPEndPoint(ip, address.Port));
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                throw new IOException($"cannot listen on {url}: port {address.Port} is already in use by another process " +
                    "(another jobkeeper serve?). Stop it, or choose another port with --urls.", ex);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AccessDenied)
            {
                throw new IOException($"cannot listen on {url}: {ex.Message}", ex);
            }
        }
    }

    private static Microsoft.AspNetCore.Http.BindingAddress Address(string url)
    {
        try
        {
            var address = Microsoft.AspNetCore.Http.BindingAddress.Parse(url);
            if (address.Scheme is "http" or "https" && !string.IsNullOrEmpty(address.Host))
            {
                return address;
            }
        }
        catch (FormatException)
        {
        }

        var example = int.TryParse(url, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            ? $"http://127.0.0.1:{port}"
            : "http://127.0.0.1:8080";
        throw new InvalidOperationException(
            $"--urls (Jobkeeper:Urls): '{url}' is not an address to listen on; give scheme, host and port, e.g. {example} " +
            "(several separated by ';').");
    }

    private static IPAddress? Ip(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        "*" or "+" => IPAddress.Any,
        _ => IPAddress.TryParse(host.Trim('[', ']'), out var ip) ? ip : null,
    };
}
