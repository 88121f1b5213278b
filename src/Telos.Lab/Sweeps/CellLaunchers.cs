using System.Diagnostics;
using Telos.Lab.Experiments;

namespace Telos.Lab.Sweeps;

/// <summary>How a cell ended, as its launcher saw it.</summary>
/// <param name="ExitCode">0 completed, 1 failed or interrupted, 2 bad input.</param>
/// <param name="Error">The last line of the cell's error output, if it wrote one (the reason, when the cell could not record its own).</param>
public sealed record CellExit(int ExitCode, string? Error);

/// <summary>
/// Runs one sweep cell: the directory holds the cell's <c>config.toml</c> (its full description) and nothing
/// else; the cell writes only into that directory. A later launcher may run it on another machine.
/// </summary>
public interface ICellLauncher
{
    /// <summary>How many cells may run at once with this launcher.</summary>
    int MaxJobs { get; }

    /// <summary>Runs the cell in <paramref name="cellDirectory"/> to its end; blocks. Cancelling stops it (the cell is then rerun on resume).</summary>
    CellExit Run(string cellDirectory, CancellationToken cancellationToken);
}

/// <summary>Runs cells in this process, one at a time (experiments share process-wide state such as LibTorch's generator).</summary>
public sealed class InProcessCellLauncher(ExperimentRunner runner) : ICellLauncher
{
    public int MaxJobs => 1;

    public CellExit Run(string cellDirectory, CancellationToken cancellationToken)
    {
        try
        {
            var outcome = runner.RunCell(cellDirectory, new Progress<ProgressUpdate>(), cancellationToken);
            return new CellExit(outcome.ExitCode, outcome.Record.Message);
        }
        catch (TelosInputException e)
        {
            return new CellExit(2, e.Message);
        }
    }
}

/// <summary>
/// Runs each cell as a child process: <c>FILE ARGS... cell DIR --quiet --watch-stdin</c> (the <c>telos</c> binary).
/// The child's standard input is a pipe that this process holds open: when this process dies, the pipe closes
/// and the child stops its cell, so a killed sweep leaves no orphaned cells behind.
/// </summary>
/// <param name="fileName">The executable (<c>telos</c>, or <c>dotnet</c> with <c>Telos.Cli.dll</c> as the first argument).</param>
/// <param name="arguments">Arguments before <c>cell DIR</c>.</param>
/// <param name="maxJobs">How many children may run at once.</param>
public sealed class ProcessCellLauncher(string fileName, IReadOnlyList<string> arguments, int maxJobs) : ICellLauncher
{
    public int MaxJobs => maxJobs;

    public CellExit Run(string cellDirectory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.ArgumentList.Add("cell");
        start.ArgumentList.Add(cellDirectory);
        start.ArgumentList.Add("--quiet");
        start.ArgumentList.Add("--watch-stdin");
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        string? lastError = null;
        child.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrWhiteSpace(e.Data))
            {
                lastError = e.Data;
            }
        };
        child.OutputDataReceived += (_, _) => { };
        child.BeginErrorReadLine();
        child.BeginOutputReadLine();
        using (cancellationToken.Register(() =>
        {
            // Closing the pipe asks the cell to stop cleanly (it checkpoints and marks itself interrupted).
            try
            {
                child.StandardInput.Close();
            }
            catch (IOException)
            {
            }
        }))
        {
            child.WaitForExit();
        }
        return new CellExit(child.ExitCode, lastError);
    }
}
