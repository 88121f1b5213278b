using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Telos.IO;
using Telos.Lab.Runs;

namespace Telos.Lab.Sweeps;

/// <summary>Where a cell stands, read from its directory.</summary>
public enum CellState
{
    /// <summary>Not started, or its directory was lost.</summary>
    Pending,

    /// <summary>Completed with a readable <c>results.json</c> and the sweep's config.</summary>
    Done,

    /// <summary>Its process is still alive.</summary>
    Running,

    /// <summary>Failed, interrupted, or its process died: rerun on resume.</summary>
    Unfinished,
}

/// <summary>
/// Runs the cells of a sweep into <c>cells/NNN/</c> of the sweep's run directory, skipping cells already
/// done (a resumed sweep reruns only unfinished ones), up to <c>jobs</c> at a time, then merges their
/// results into the sweep's tables and report. A failing cell is recorded with its error (after running it again when it failed
/// inside LibTorch: <see cref="NativeFailureRetries"/>); the others go on.
/// </summary>
public static class SweepRunner
{
    /// <summary>The sweep's cell list, written before any cell runs.</summary>
    public const string CellsFile = "cells.json";

    /// <summary>The folder of cell directories inside the sweep's run directory.</summary>
    public const string CellsFolder = "cells";

    /// <summary>
    /// How many times a cell that failed inside LibTorch (<see cref="RunFailure.IsNative"/>) is run again, from scratch, before the
    /// sweep records it as failed: TorchSharp can free a scalar argument while LibTorch still reads it (docs/architecture.md,
    /// "A scalar-argument hazard"), a failure that strikes a few cells in a hundred at random and seldom the same cell twice (one
    /// maze-shift cell failed twice and completed on its third run); a cell's numbers are a pure function of its config and seed,
    /// so a rerun changes none of them. Any other failure is recorded at once.
    /// </summary>
    public const int NativeFailureRetries = 2;

    /// <summary>Where <paramref name="cell"/> of the sweep in <paramref name="sweepDirectory"/> stands.</summary>
    public static CellState State(string sweepDirectory, SweepCell cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        var dir = CellDirectory(sweepDirectory, cell);
        RunRecord? record;
        try
        {
            record = RunRecordFile.Read(dir);
        }
        catch (TelosInputException)
        {
            return CellState.Unfinished;
        }
        if (record is null)
        {
            return Directory.Exists(dir) ? CellState.Unfinished : CellState.Pending;
        }
        if (record.Status == RunStatus.Running && record.ProcessAlive && record.Pid != Environment.ProcessId)
        {
            return CellState.Running;
        }
        var configPath = Path.Combine(dir, "config.toml");
        var done = record.Status == RunStatus.Completed
            && File.Exists(configPath) && File.ReadAllText(configPath) == cell.ResolvedToml
            && TryReadResults(dir) is not null;
        return done ? CellState.Done : CellState.Unfinished;
    }

    /// <summary>The directory of <paramref name="cell"/>.</summary>
    public static string CellDirectory(string sweepDirectory, SweepCell cell)
    {
        ArgumentNullException.ThrowIfNull(cell);
        return Path.Combine(sweepDirectory, CellsFolder, cell.DirectoryName);
    }

    /// <summary>Refuses to resume while a cell's process is still alive (from a sweep whose coordinator was killed).</summary>
    /// <exception cref="TelosInputException">One line naming the cell and its pid.</exception>
    public static void EnsureNoCellRunning(string sweepDirectory, SweepPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        foreach (var cell in plan.Cells)
        {
            if (State(sweepDirectory, cell) == CellState.Running)
            {
                var pid = RunRecordFile.Read(CellDirectory(sweepDirectory, cell))!.Pid;
                throw new TelosInputException($"sweep cell {cell.DirectoryName} ({plan.CellLabel(cell)}) is still running (pid {pid}); wait for it to stop");
            }
        }
    }

    /// <summary>
    /// Runs every cell not yet done, then writes <c>tables.md</c>, <c>tables.csv</c>, <c>report.md</c> and <c>report.html</c>
    /// (with <paramref name="analysis"/>'s sections, when the experiment computes something across cells).
    /// </summary>
    /// <returns>The number of cells that failed (0: the sweep completed).</returns>
    /// <exception cref="OperationCanceledException">Cancelled: running cells were asked to stop; the tables are not written.</exception>
    public static int Run(RunDirectory sweep, SweepPlan plan, ICellLauncher launcher, int jobs, IProgress<ProgressUpdate> progress, CancellationToken cancellationToken,
        ISweepAnalysis? analysis = null)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(launcher);
        ArgumentNullException.ThrowIfNull(progress);
        jobs = Math.Clamp(jobs, 1, Math.Max(1, launcher.MaxJobs));
        WriteCellList(sweep, plan);

        var states = plan.Cells.Select(c => State(sweep.Path, c)).ToArray();
        var pending = new Queue<SweepCell>(plan.Cells.Where(c => states[c.Index] != CellState.Done));
        var tracker = new Tracker(plan.Cells.Count, plan.Cells.Count - pending.Count);
        var logLock = new object();
        void Log(string line)
        {
            lock (logLock)
            {
                sweep.Log(line);
            }
        }
        Log($"sweep of {plan.Cells.Count} cells: {tracker.Done} already done, {pending.Count} to run, {jobs} at a time");
        progress.Report(tracker.Update());

        var queueLock = new object();
        void Work()
        {
            while (true)
            {
                SweepCell cell;
                lock (queueLock)
                {
                    if (cancellationToken.IsCancellationRequested || !pending.TryDequeue(out cell!))
                    {
                        return;
                    }
                }
                var dir = CellDirectory(sweep.Path, cell);
                progress.Report(tracker.Started());
                var clock = Stopwatch.StartNew();
                CellExit exit;
                CellState state;
                for (var attempt = 1; ; attempt++)
                {
                    if (Directory.Exists(dir))
                    {
                        Directory.Delete(dir, recursive: true);   // an unfinished cell is rerun from scratch
                    }
                    Directory.CreateDirectory(dir);
                    AtomicFile.WriteAllText(Path.Combine(dir, "config.toml"), cell.ResolvedToml);
                    try
                    {
                        exit = launcher.Run(dir, cancellationToken);
                    }
                    catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
                    {
                        exit = new CellExit(1, e.Message);
                    }
                    state = State(sweep.Path, cell);
                    if (state == CellState.Done || cancellationToken.IsCancellationRequested || attempt > NativeFailureRetries)
                    {
                        break;
                    }
                    var failure = FailureMessage(dir, exit);
                    if (!RunFailure.IsNative(failure))
                    {
                        break;
                    }
                    // A cell is a pure function of its config and seed, so running it again changes none of its numbers.
                    Log(string.Create(CultureInfo.InvariantCulture,
                        $"cell {cell.DirectoryName} ({plan.CellLabel(cell)}) failed inside LibTorch after {clock.Elapsed.TotalSeconds:F1} s: {failure}; running it again (attempt {attempt + 1} of {NativeFailureRetries + 1})"));
                }
                var seconds = clock.Elapsed.TotalSeconds;
                if (state == CellState.Done)
                {
                    Log(string.Create(CultureInfo.InvariantCulture, $"cell {cell.DirectoryName} ({plan.CellLabel(cell)}) completed in {seconds:F1} s"));
                    progress.Report(tracker.Finished(failed: false));
                }
                else if (cancellationToken.IsCancellationRequested)
                {
                    Log($"cell {cell.DirectoryName} ({plan.CellLabel(cell)}) stopped: the sweep was interrupted");
                    progress.Report(tracker.Stopped());
                }
                else
                {
                    Log(string.Create(CultureInfo.InvariantCulture, $"cell {cell.DirectoryName} ({plan.CellLabel(cell)}) failed after {seconds:F1} s: {FailureMessage(dir, exit)}"));
                    progress.Report(tracker.Finished(failed: true));
                }
            }
        }

        var workers = Enumerable.Range(0, jobs).Select(_ => new Thread(Work) { IsBackground = true }).ToArray();
        foreach (var worker in workers)
        {
            worker.Start();
        }
        foreach (var worker in workers)
        {
            worker.Join();
        }
        cancellationToken.ThrowIfCancellationRequested();

        var tables = SweepTables.Merge(sweep.Id, sweep.Path, plan);
        var extra = analysis is null ? "" : analysis.Markdown(tables);
        sweep.WriteArtifact("tables.md", tables.ToMarkdown() + extra);
        sweep.WriteArtifact("tables.csv", tables.ToCsv());
        sweep.WriteReport(tables.ToReportMarkdown() + extra);
        sweep.WriteHtmlReport(tables.ToHtmlReport(analysis));
        var failed = tables.Failures.Count;
        Log($"merged {plan.Cells.Count - failed} cells into tables.md ({failed} failed)");
        return failed;
    }

    /// <summary>The results of a done cell, or null.</summary>
    internal static RunResults? TryReadResults(string cellDirectory)
    {
        try
        {
            return RunResults.Read(Path.Combine(cellDirectory, RunResults.FileName));
        }
        catch (TelosInputException)
        {
            return null;
        }
    }

    /// <summary>Why a cell did not finish: its record's message, else the launcher's last error line, else its exit code.</summary>
    internal static string FailureMessage(string cellDirectory, CellExit? exit)
    {
        RunRecord? record = null;
        try
        {
            record = RunRecordFile.Read(cellDirectory);
        }
        catch (TelosInputException)
        {
        }
        if (record?.Message is { Length: > 0 } message)
        {
            return message;
        }
        if (exit?.Error is { Length: > 0 } error)
        {
            return error;
        }
        return record is null ? "the cell never started its run" : $"status {record.StatusText}" + (exit is null ? "" : $", exit code {exit.ExitCode}");
    }

    private static void WriteCellList(RunDirectory sweep, SweepPlan plan)
    {
        var list = new JsonObject
        {
            ["format"] = "telos-sweep/1",
            ["axes"] = new JsonArray(plan.Axes.Select(a => (JsonNode)new JsonObject { ["key"] = a.Key, ["values"] = new JsonArray(a.Values.Select(v => (JsonNode)v).ToArray()) }).ToArray()),
            ["seeds"] = new JsonArray(plan.Seeds.Select(s => (JsonNode)s).ToArray()),
            ["cells"] = new JsonArray(plan.Cells.Select(c => (JsonNode)new JsonObject
            {
                ["index"] = c.Index,
                ["dir"] = CellsFolder + "/" + c.DirectoryName,
                ["configuration"] = c.Configuration,
                ["label"] = plan.CellLabel(c),
                ["seed"] = c.Seed,
                ["config_hash"] = Configuration.TomlHash.Of(c.ResolvedToml),
            }).ToArray()),
        };
        sweep.WriteArtifact(CellsFile, list.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Counts of done/running/failed cells (the progress display adds the rate and ETA from Done/Total).</summary>
    private sealed class Tracker(int total, int done)
    {
        private readonly object _lock = new();
        private int _running;
        private int _failed;

        public int Done { get; private set; } = done;

        public ProgressUpdate Started()
        {
            lock (_lock)
            {
                _running++;
                return Update();
            }
        }

        public ProgressUpdate Finished(bool failed)
        {
            lock (_lock)
            {
                _running--;
                if (failed)
                {
                    _failed++;
                }
                else
                {
                    Done++;
                }
                return Update();
            }
        }

        public ProgressUpdate Stopped()
        {
            lock (_lock)
            {
                _running--;
                return Update();
            }
        }

        public ProgressUpdate Update() => new("sweep", Done + _failed, total, $"{Done} done, {_running} running, {_failed} failed");
    }
}
