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
    public void NativeFixIsAppliedExactlyWhenTheSystemLibStdCxxNeedsIt()
    {
        var status = TorchRuntime.Probe();
        Assert.True(status.Loaded, status.Error);
        // The build weakens the requirement exactly when the system libstdc++ lacks GLIBCXX_3.4.32,
        // and leaves the published library (which needs it strongly) alone otherwise.
        var expected = status.SystemHasGlibcxx33432 ? "Strong" : "Weak";
        Assert.True(expected == status.NativeFix, $"system libstdc++ has GLIBCXX_3.4.32: {status.SystemHasGlibcxx33432}; libLibTorchSharp.so next to the tests: {status.NativeFix}, expected {expected}");
    }
}
