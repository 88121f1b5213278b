using System.Diagnostics;

namespace Telos.Tests.Ci;

/// <summary>
/// <c>.ci/count-trx</c>, the counting part of <c>.ci/run</c>, against hand-made TRX files in a temporary
/// repository layout (a <c>Telos.slnx</c> and <c>tests/*/</c> project folders).
/// </summary>
public sealed class CountTrxTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("telos-count-trx-");

    public void Dispose() => _root.Delete(recursive: true);

    private string Results => Path.Combine(_root.FullName, "TestResults");

    /// <summary>A solution listing <paramref name="inSolution"/> under tests/, and a project folder for each of <paramref name="onDisk"/>.</summary>
    private void Layout(string[] inSolution, string[] onDisk)
    {
        var entries = string.Concat(inSolution.Select(p => $"    <Project Path=\"tests/{p}/{p}.csproj\" />\n"));
        File.WriteAllText(Path.Combine(_root.FullName, "Telos.slnx"), $"<Solution>\n  <Folder Name=\"/src/\">\n    <Project Path=\"src/Telos/Telos.csproj\" />\n  </Folder>\n  <Folder Name=\"/tests/\">\n{entries}  </Folder>\n</Solution>\n");
        foreach (var p in onDisk)
        {
            Directory.CreateDirectory(Path.Combine(_root.FullName, "tests", p));
            File.WriteAllText(Path.Combine(_root.FullName, "tests", p, p + ".csproj"), "<Project />");
        }
        Directory.CreateDirectory(Results);
    }

    /// <summary>A TRX file with the given counters (the rest 0) and a ResultSummary outcome.</summary>
    private void Trx(string project, string outcome, int total, int executed, int passed, int failed = 0, int error = 0, int timeout = 0, int aborted = 0, int inconclusive = 0, int notExecuted = 0) =>
        File.WriteAllText(Path.Combine(Results, project + ".trx"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <TestRun id="0" name="x" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
              <ResultSummary outcome="{outcome}">
                <Counters total="{total}" executed="{executed}" passed="{passed}" failed="{failed}" error="{error}" timeout="{timeout}" aborted="{aborted}" inconclusive="{inconclusive}" passedButRunAborted="0" notRunnable="0" notExecuted="{notExecuted}" disconnected="0" warning="0" completed="0" inProgress="0" pending="0" />
              </ResultSummary>
            </TestRun>
            """);

    private (int Code, string Output, string Error) Count()
    {
        var script = Path.Combine(RepositoryRoot(), ".ci", "count-trx");
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, Results, _root.FullName })
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result.Trim(), error);
    }

    [Fact]
    public void AllProjectsPassingCountsOnlyNotExecutedAsSkipped()
    {
        Layout(["A.Tests", "B.Tests"], ["A.Tests", "B.Tests"]);
        // total − executed (3) differs from notExecuted (2): only the latter were skipped.
        Trx("A.Tests", "Completed", total: 10, executed: 7, passed: 7, notExecuted: 2);
        Trx("B.Tests", "Completed", total: 5, executed: 5, passed: 5);
        var (code, output, error) = Count();
        Assert.True(code == 0, error);
        Assert.Equal("12 passed, 0 failed, 2 skipped", output);
    }

    [Fact]
    public void AProjectWithoutAResultsFileFailsTheRunAndIsNamed()
    {
        // C.Tests is in the solution but wrote no TRX (it failed to build); D.Tests is only on disk and wrote none either.
        Layout(["A.Tests", "C.Tests"], ["A.Tests", "C.Tests", "D.Tests"]);
        Trx("A.Tests", "Completed", total: 4, executed: 4, passed: 4);
        var (code, output, error) = Count();
        Assert.Equal(1, code);
        Assert.Equal("4 passed, 0 failed", output);
        Assert.Contains("C.Tests: no results file", error);
        Assert.Contains("D.Tests: no results file", error);
        Assert.DoesNotContain("A.Tests", error);
    }

    [Fact]
    public void ErrorTimeoutAbortedAndInconclusiveOutcomesCountAsFailures()
    {
        Layout(["A.Tests", "B.Tests"], ["A.Tests", "B.Tests"]);
        Trx("A.Tests", "Completed", total: 6, executed: 6, passed: 2, error: 1, timeout: 1, aborted: 1, inconclusive: 1);
        Trx("B.Tests", "Failed", total: 3, executed: 3, passed: 2, failed: 1);
        var (code, output, error) = Count();
        Assert.Equal(1, code);
        Assert.Equal("4 passed, 5 failed", output);
        Assert.Contains("A.Tests: 4 tests failed or did not finish", error);
    }

    [Fact]
    public void AnAbortedRunOrNothingPassingFailsEvenWithoutFailedCounts()
    {
        Layout(["A.Tests"], ["A.Tests"]);
        Trx("A.Tests", "Aborted", total: 3, executed: 3, passed: 3);
        var (code, output, error) = Count();
        Assert.Equal(1, code);
        Assert.Equal("3 passed, 0 failed", output);
        Assert.Contains("A.Tests: the test run ended Aborted", error);

        Trx("A.Tests", "Completed", total: 2, executed: 0, passed: 0, notExecuted: 2);
        (code, output, error) = Count();
        Assert.Equal(1, code);
        Assert.Equal("0 passed, 0 failed, 2 skipped", output);
        Assert.Contains("no test passed", error);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Telos.slnx")) && File.Exists(Path.Combine(dir.FullName, ".ci", "count-trx")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException("no repository root (Telos.slnx with .ci/count-trx) above " + AppContext.BaseDirectory);
    }
}
