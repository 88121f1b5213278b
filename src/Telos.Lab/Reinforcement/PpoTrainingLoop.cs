using System.Globalization;
using Telos.Lab.Runs;
using Telos.Learning.Reinforcement;

namespace Telos.Lab.Reinforcement;

/// <summary>Training loops that run PPO inside another experiment (the demo, maze-shift): no checkpoints, metrics to the run.</summary>
public static class PpoTrainingLoop
{
    /// <summary>
    /// Steps <paramref name="trainer"/> to the end of <paramref name="settings"/>' iterations, logging every iteration's metrics
    /// to <paramref name="run"/> and reporting <c>LABEL STEP/TOTAL steps</c> as stage <paramref name="stage"/> of <paramref name="stages"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled between iterations.</exception>
    public static void RunToEnd<TState>(RecurrentPpo<TState> trainer, PpoSettings settings, RunDirectory run, IProgress<ProgressUpdate> progress, string task, int stage, int stages,
        string label, CancellationToken cancellationToken)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(progress);
        while (trainer.Iteration < settings.NumIterations)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var metrics = trainer.Step();
            run.LogMetrics(metrics.GlobalStep, metrics.Scalars);
            progress.Report(new ProgressUpdate(task, stage, stages, string.Create(CultureInfo.InvariantCulture, $"{label} {metrics.GlobalStep}/{settings.NumIterations * settings.BatchSize} steps")));
        }
    }
}
