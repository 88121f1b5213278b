using Telos.Lab.Runs;
using Telos.Learning.Native;
using TorchSharp;

namespace Telos.Lab.Tests.Runs;

[Collection("torch")]
public sealed class CheckpointTests
{
    private sealed record Meta(long Step, string Note);

    [Fact]
    public void SaveAndLoadRoundTripTensorsAndMetadata()
    {
        TorchRuntime.EnsureInitialized();
        using var temp = new TempFolder();
        using var run = new RunStore(temp.Path).Create("c", "k", "", 0);
        using var weights = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        using var counts = torch.tensor(new long[] { 4, 5 });
        run.SaveCheckpoint(10, new Dictionary<string, torch.Tensor> { ["w"] = weights, ["n"] = counts }, new Meta(10, "first"));
        run.SaveCheckpoint(20, new Dictionary<string, torch.Tensor> { ["w"] = weights * 2, ["n"] = counts }, new Meta(20, "second"));

        Assert.Equal([10L, 20], run.Checkpoints().Select(c => c.Step));
        var latest = run.LatestCheckpoint()!;
        Assert.Equal(20, latest.Step);
        using var loaded = run.LoadCheckpoint(latest);
        Assert.Equal(new long[] { 2, 3 }, loaded.Tensor("w").shape);
        Assert.True(loaded.Tensor("w").eq(weights * 2).all().item<bool>());
        Assert.Equal(torch.int64, loaded.Tensor("n").dtype);
        Assert.Equal(new Meta(20, "second"), loaded.MetadataAs<Meta>());
        Assert.StartsWith(latest.TensorPath + ": checkpoint has no tensor 'x'", Assert.Throws<TelosInputException>(() => loaded.Tensor("x")).Message, StringComparison.Ordinal);
        Assert.Empty(temp.TempFiles());
    }

    [Fact]
    public void ACheckpointWithoutSidecarDoesNotCount()
    {
        TorchRuntime.EnsureInitialized();
        using var temp = new TempFolder();
        using var run = new RunStore(temp.Path).Create("c", "k", "", 0);
        using var t = torch.ones(3);
        var first = run.SaveCheckpoint(5, new Dictionary<string, torch.Tensor> { ["t"] = t });
        // A kill after the tensors file but before the sidecar: the step-9 tensors exist, its sidecar does not.
        File.Copy(first.TensorPath, Path.Combine(run.CheckpointsPath, "step-0000000009.safetensors"));
        File.WriteAllText(Path.Combine(run.CheckpointsPath, ".step-0000000009.json.123.abc.tmp"), "{ half");
        Assert.Equal(5, run.LatestCheckpoint()!.Step);
        using var loaded = run.LoadCheckpoint(run.LatestCheckpoint()!);
        Assert.Equal(5, loaded.Step);
    }

    [Theory]
    [InlineData("truncate")]
    [InlineData("flip")]
    [InlineData("delete")]
    public void ADamagedCheckpointIsOneLineNamingTheFile(string damage)
    {
        TorchRuntime.EnsureInitialized();
        using var temp = new TempFolder();
        using var run = new RunStore(temp.Path).Create("c", "k", "", 0);
        using var t = torch.ones(64);
        var info = run.SaveCheckpoint(1, new Dictionary<string, torch.Tensor> { ["t"] = t });
        var bytes = File.ReadAllBytes(info.TensorPath);
        switch (damage)
        {
            case "truncate":
                File.WriteAllBytes(info.TensorPath, bytes[..(bytes.Length / 2)]);
                break;
            case "flip":
                bytes[^1] ^= 0xFF;
                File.WriteAllBytes(info.TensorPath, bytes);
                break;
            default:
                File.Delete(info.TensorPath);
                break;
        }
        var error = Assert.Throws<TelosInputException>(() => run.LoadCheckpoint(run.LatestCheckpoint()!));
        Assert.StartsWith(info.TensorPath + ": ", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void ACorruptSidecarIsOneLineNamingIt()
    {
        TorchRuntime.EnsureInitialized();
        using var temp = new TempFolder();
        using var run = new RunStore(temp.Path).Create("c", "k", "", 0);
        using var t = torch.ones(2);
        var info = run.SaveCheckpoint(1, new Dictionary<string, torch.Tensor> { ["t"] = t });
        File.WriteAllText(info.SidecarPath, "{\"format\": ");
        Assert.Null(run.LatestCheckpoint());
        var scanned = Assert.Single(CheckpointFiles.Scan(run.CheckpointsPath));
        Assert.Null(scanned.Info);
        Assert.StartsWith(info.SidecarPath + ": unreadable checkpoint sidecar", scanned.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', scanned.Problem!);
        var error = Assert.Throws<TelosInputException>(() => run.LoadCheckpoint(info));
        Assert.Equal(scanned.Problem, error.Message);
    }
}

[CollectionDefinition("torch", DisableParallelization = true)]
public sealed class TorchCollection
{
}
