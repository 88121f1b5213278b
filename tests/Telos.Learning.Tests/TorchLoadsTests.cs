using Telos.Learning.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Telos.Learning.Tests;

/// <summary>
/// Proves LibTorch loads inside the test host on this Linux. Deliberately not skippable:
/// if the native fix did not run, these fail with the loader's message.
/// </summary>
public sealed class TorchLoadsTests
{
    [Fact]
    public void TensorOpRunsInTestHost()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4 }).reshape(2, 2);
        var b = a.matmul(a);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, b.data<float>().ToArray());
    }

    [Fact]
    public void OneAdamStepReducesLossOfAnMlp()
    {
        TorchRuntime.EnsureInitialized();
        TorchRuntime.Seed(1);
        using var scope = NewDisposeScope();
        var model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2));
        var optimizer = optim.Adam(model.parameters(), lr: 1e-2);
        var x = randn(32, 8);
        var y = randn(32, 2);
        var before = nn.functional.mse_loss(model.call(x), y);
        optimizer.zero_grad();
        before.backward();
        optimizer.step();
        var after = nn.functional.mse_loss(model.call(x), y).item<float>();
        Assert.True(after < before.item<float>(), $"loss {before.item<float>()} -> {after}");
    }

    [Fact]
    public void NativeFixStateIsKnown()
    {
        var status = TorchRuntime.Probe();
        Assert.True(status.Loaded, status.Error);
        // On a libstdc++ without GLIBCXX_3.4.32 the build must have weakened the requirement.
        if (!status.SystemHasGlibcxx33432)
        {
            Assert.Equal("Weak", status.NativeFix);
        }
    }
}
