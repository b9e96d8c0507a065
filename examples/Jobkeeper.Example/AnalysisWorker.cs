using Microsoft.Extensions.Options;

namespace Jobkeeper.Example;

/// <summary>
/// The background side of the example: at start it re-queues what a previous run left unfinished,
/// then a few loops take job ids from <see cref="AnalysisQueue"/> and run them one at a time each.
/// Registered after <c>AddJobkeeper</c>, so it starts after the store opens and stops before it closes.
/// </summary>
public sealed class AnalysisWorker(
    AnalysisQueue queue,
    AnalysisRunner runner,
    AnalysisRecovery recovery,
    IOptions<ExampleOptions> options,
    ILogger<AnalysisWorker> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the server takes requests, so a recovered job and a new one never race for the queue order.
        await recovery.ResumeUnfinishedAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = options.Value.Workers;
        logger.LogInformation("{Workers} analysis workers started; each step takes {StepDelayMs} ms", workers, options.Value.StepDelayMs);
        return Task.WhenAll(Enumerable.Range(0, workers).Select(_ => ConsumeAsync(stoppingToken)));
    }

    private async Task ConsumeAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var jobId in queue.ReadAllAsync(stoppingToken))
            {
                await runner.RunAsync(jobId, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down; a job interrupted mid-way was put back in the queue by the runner.
        }
    }
}
