using System.Globalization;
using System.Text;
using Telos.IO;
using Telos.Learning.Runs;
using TorchSharp;

namespace Telos.Lab.Runs;

/// <summary>
/// One run's directory and its row in the index:
/// <c>config.toml</c> (resolved config), <c>metrics.csv</c>, <c>tb/</c> (TensorBoard events),
/// <c>checkpoints/</c> (safetensors + JSON sidecars), <c>log.txt</c>, <c>report.md</c> and any artifacts.
/// </summary>
/// <remarks>Methods may be called from one thread at a time (the experiment's); the object is not thread-safe.</remarks>
public sealed class RunDirectory : IDisposable
{
    private static readonly UTF8Encoding Utf8 = new(false);
    private readonly IRunStatusStore _index;
    private MetricsCsv? _metrics;
    private TensorBoardEvents? _tensorBoard;

    internal RunDirectory(RunRecord record, IRunStatusStore index)
    {
        Record = record;
        _index = index;
    }

    /// <summary>The index row as of the last status change made through this object.</summary>
    public RunRecord Record { get; private set; }

    public string Id => Record.Id;

    /// <summary>Absolute path of the run directory.</summary>
    public string Path => Record.Directory;

    public string ConfigPath => System.IO.Path.Combine(Path, "config.toml");

    public string MetricsPath => System.IO.Path.Combine(Path, "metrics.csv");

    public string CheckpointsPath => System.IO.Path.Combine(Path, "checkpoints");

    public string TensorBoardPath => System.IO.Path.Combine(Path, "tb");

    public string LogPath => System.IO.Path.Combine(Path, "log.txt");

    public string ReportPath => System.IO.Path.Combine(Path, "report.md");

    /// <summary>The offline HTML report (<see cref="Reports.HtmlReport"/>).</summary>
    public string HtmlReportPath => System.IO.Path.Combine(Path, "report.html");

    /// <summary>The run's declared results (<see cref="RunResults"/>), which sweeps merge.</summary>
    public string ResultsPath => System.IO.Path.Combine(Path, RunResults.FileName);

    /// <summary>
    /// Appends one row to <c>metrics.csv</c> and one event with a scalar per value to the TensorBoard events in
    /// <c>tb/</c> (written in managed code: logging metrics never loads LibTorch). A name not seen before widens
    /// the CSV header (the file is rewritten atomically).
    /// </summary>
    /// <param name="step">The x-axis value (training step, episode, ...).</param>
    /// <param name="values">Metric name → value; names must not contain commas, quotes or newlines, nor be "step".</param>
    public void LogMetrics(long step, IReadOnlyDictionary<string, double> values)
    {
        _metrics ??= new MetricsCsv(MetricsPath);
        _metrics.Append(step, values);
        _tensorBoard ??= new TensorBoardEvents(TensorBoardPath);
        _tensorBoard.Write(step, values);
    }

    /// <summary>The rows of <c>metrics.csv</c> (an unterminated last line, from a kill mid-write, is ignored).</summary>
    public IReadOnlyList<MetricsRow> ReadMetrics() => MetricsCsv.ReadFile(MetricsPath).Rows;

    /// <summary>Appends a timestamped line to <c>log.txt</c>.</summary>
    public void Log(string line)
    {
        var stamp = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        using var stream = new FileStream(LogPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        stream.Write(Utf8.GetBytes($"{stamp} {line.ReplaceLineEndings(" ")}\n"));
    }

    /// <summary>Atomically writes <c>report.md</c>.</summary>
    public void WriteReport(string markdown) => AtomicFile.WriteAllText(ReportPath, markdown);

    /// <summary>Atomically writes <c>report.html</c> (one self-contained page: no external scripts, styles or images).</summary>
    public void WriteHtmlReport(Reports.HtmlReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        AtomicFile.WriteAllText(HtmlReportPath, report.ToHtml());
    }

    /// <summary>Atomically writes <c>results.json</c>: the numbers a sweep merges across seeds (no wall-clock times, so that reruns compare byte for byte).</summary>
    public void WriteResults(RunResults results)
    {
        ArgumentNullException.ThrowIfNull(results);
        AtomicFile.WriteAllText(ResultsPath, results.ToJson());
    }

    /// <summary>Atomically writes <paramref name="relativePath"/> under the run directory (folders are created).</summary>
    /// <exception cref="ArgumentException">The path is absolute or leaves the run directory.</exception>
    public string WriteArtifact(string relativePath, ReadOnlySpan<byte> bytes)
    {
        var path = ArtifactPath(relativePath);
        AtomicFile.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Atomically writes UTF-8 <paramref name="text"/> to <paramref name="relativePath"/> under the run directory.</summary>
    public string WriteArtifact(string relativePath, string text)
    {
        var path = ArtifactPath(relativePath);
        AtomicFile.WriteAllText(path, text);
        return path;
    }

    /// <summary>
    /// Saves <paramref name="tensors"/> as <c>checkpoints/step-NNNNNNNNNN.safetensors</c> (readable by PyTorch's
    /// <c>safetensors.torch.load_file</c>) and <paramref name="metadata"/> (any JSON-serializable object, snake_case)
    /// in the sidecar <c>step-NNNNNNNNNN.json</c>, which is written last: a checkpoint exists only once its sidecar does.
    /// Saving the same step again replaces it. The tensors are serialized by <see cref="SafetensorsBytes"/> (Telos.Learning),
    /// the only LibTorch call of the run store.
    /// </summary>
    public CheckpointInfo SaveCheckpoint(long step, IReadOnlyDictionary<string, torch.Tensor> tensors, object? metadata = null)
    {
        var (bytes, described) = SafetensorsBytes.Encode(tensors);
        var info = CheckpointFiles.Save(CheckpointsPath, step, bytes, described, metadata);
        Log($"checkpoint step {step} ({info.Bytes} bytes)");
        return info;
    }

    /// <summary>Finished checkpoints (those with a sidecar), by step ascending.</summary>
    public IReadOnlyList<CheckpointInfo> Checkpoints() => CheckpointFiles.List(CheckpointsPath);

    /// <summary>The finished checkpoint with the highest step, or null. Its file is not verified here; <see cref="LoadCheckpoint"/> does.</summary>
    public CheckpointInfo? LatestCheckpoint() => Checkpoints().LastOrDefault();

    /// <summary>Checks that the checkpoint's tensors file has the size and SHA-256 its sidecar records.</summary>
    /// <exception cref="TelosInputException">One line naming the file: truncated, corrupt or missing.</exception>
    public void VerifyCheckpoint(CheckpointInfo checkpoint) => CheckpointFiles.Verify(checkpoint);

    /// <summary>Reads and verifies a checkpoint; the caller disposes the result (and with it the tensors).</summary>
    /// <exception cref="TelosInputException">One line naming the file: truncated, corrupt or missing.</exception>
    public LoadedCheckpoint LoadCheckpoint(CheckpointInfo checkpoint) => CheckpointFiles.Load(checkpoint);

    /// <summary>Drops metrics rows after <paramref name="step"/>: a resumed run re-logs them from its checkpoint.</summary>
    public void TruncateMetricsAfter(long step)
    {
        _metrics ??= new MetricsCsv(MetricsPath);
        _metrics.TruncateAfter(step);
    }

    /// <summary>Marks the run running again in this process (used by resume).</summary>
    public void MarkRunning() => SetStatus(RunStatus.Running, null);

    public void MarkCompleted() => SetStatus(RunStatus.Completed, null);

    public void MarkFailed(string message) => SetStatus(RunStatus.Failed, message);

    public void MarkInterrupted(string? message = null) => SetStatus(RunStatus.Interrupted, message);

    public void Dispose()
    {
        _metrics?.Dispose();
        _metrics = null;
        _tensorBoard?.Dispose();
        _tensorBoard = null;
    }

    private void SetStatus(RunStatus status, string? message)
    {
        var ended = status == RunStatus.Running ? (DateTimeOffset?)null : DateTimeOffset.UtcNow;
        _index.SetStatus(Id, status, ended, message, Environment.ProcessId);
        Record = Record with { Status = status, EndedUtc = ended, Message = message, Pid = Environment.ProcessId };
        Log(message is null ? $"status {RunIndex.StatusName(status)}" : $"status {RunIndex.StatusName(status)}: {message}");
    }

    private string ArtifactPath(string relativePath)
    {
        var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(Path, relativePath));
        var root = System.IO.Path.GetFullPath(Path) + System.IO.Path.DirectorySeparatorChar;
        if (System.IO.Path.IsPathRooted(relativePath) || !full.StartsWith(root, StringComparison.Ordinal))
        {
            throw new ArgumentException($"artifact path '{relativePath}' must be relative and stay inside the run directory", nameof(relativePath));
        }
        return full;
    }
}
