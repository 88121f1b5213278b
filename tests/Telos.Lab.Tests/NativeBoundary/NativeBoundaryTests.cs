using System.Diagnostics;

namespace Telos.Lab.Tests.NativeBoundary;

/// <summary>A run that trains nothing neural never loads LibTorch (checked in a fresh process).</summary>
public sealed class NativeBoundaryTests
{
    [Fact]
    public async Task ANonNeuralRunThroughTheRunStoreNeverLoadsLibTorch()
    {
        using var temp = new TempFolder();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Telos.Lab.Tests.dll"));
        start.ArgumentList.Add(NativeBoundaryProbe.Command);
        start.ArgumentList.Add(temp.Combine("runs"));
        using var child = Process.Start(start)!;
        var errors = child.StandardError.ReadToEndAsync();
        var lines = (await child.StandardOutput.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await child.WaitForExitAsync();
        Assert.True(child.ExitCode == 0, await errors);
        Assert.Equal(
            [
                "status interrupted completed",
                "rows 20 checkpoints 0",
                "tb 2",
                "before initialized False loaded False",
                "after initialized True loaded True",
            ],
            lines);
    }
}
