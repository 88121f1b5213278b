namespace Telos.Lab.Runs;

/// <summary>Read-only access to a run directory's files, for listings (no index writes, no LibTorch).</summary>
public static class RunFiles
{
    /// <summary>The rows of <c>metrics.csv</c> in <paramref name="runDirectory"/>; empty when there is none.</summary>
    public static IReadOnlyList<MetricsRow> ReadMetrics(string runDirectory) => MetricsCsv.ReadFile(Path.Combine(runDirectory, "metrics.csv")).Rows;

    /// <summary>Finished checkpoints (with sidecar) in <paramref name="runDirectory"/>, by step ascending.</summary>
    public static IReadOnlyList<CheckpointInfo> Checkpoints(string runDirectory) => CheckpointFiles.List(Path.Combine(runDirectory, "checkpoints"));
}
