using Microsoft.Extensions.DependencyInjection;

namespace Jobkeeper.Hosting;

/// <summary>Returned by <c>AddJobkeeper</c> so further Jobkeeper parts can be chained onto it.</summary>
public sealed class JobkeeperBuilder(IServiceCollection services)
{
    public IServiceCollection Services { get; } = services;
}
