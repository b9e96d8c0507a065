using System.Threading.Channels;
using Jobkeeper.Model;
using Microsoft.Extensions.Options;

namespace Jobkeeper.Example;

/// <summary>
/// The app's own code driving its exports: ten steps of progress, then completed. It holds no lease and sends no
/// heartbeats: the updates and Jobkeeper's renewals keep the job alive. Stopping the app leaves unfinished exports
/// to Jobkeeper, which fails them as <c>interrupted</c> at shutdown (no handler runs their type).
/// </summary>
public sealed class ExportRunner(JobManager jobs, IOptions<ExampleOptions> options, ILogger<ExportRunner> logger) : BackgroundService
{
    private const int Steps = 10;
    private readonly Channel<string> _exports = Channel.CreateUnbounded<string>();

    public void Enqueue(string jobId) => _exports.Writer.TryWrite(jobId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var id in _exports.Reader.ReadAllAsync(stoppingToken))
        {
            _ = Task.Run(() => ExportAsync(id, stoppingToken), CancellationToken.None);
        }
    }

    private async Task ExportAsync(string id, CancellationToken stoppingToken)
    {
        try
        {
            for (var step = 1; step <= Steps; step++)
            {
                await Task.Delay(options.Value.StepDelay, stoppingToken);
                await jobs.UpdateAsync(id, new JobPatch { Progress = new ProgressPatch { Fraction = (double)step / Steps, Stage = $"page {step}" } },
                    cancellationToken: stoppingToken);
            }

            await jobs.UpdateAsync(id, new JobPatch { Status = JobStatus.Completed, Result = ExampleJson.ToElement(new ExportResult(Steps)) },
                cancellationToken: stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            logger.LogInformation("Export {JobId} stopped unfinished; Jobkeeper settles it at shutdown", id);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Export {JobId} failed", id);
        }
    }
}

/// <summary>What an export returns.</summary>
public sealed record ExportResult(int Pages);
