namespace Jobkeeper.Model;

/// <summary>Fencing tokens of leases: random, so a holder whose lease ended cannot guess the next holder's.</summary>
public static class LeaseTokens
{
    public static string New() => Guid.NewGuid().ToString("N");
}
