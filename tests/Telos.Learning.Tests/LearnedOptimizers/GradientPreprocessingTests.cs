using Telos.Learning.LearnedOptimizers;
using Telos.Learning.Native;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.LearnedOptimizers;

public sealed class GradientPreprocessingTests
{
    [Fact]
    public void LogSignFollowsThePaperFormula()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        // e^-10 ≈ 4.54e-5: 1 and -1e-3 are above, 1e-5 and 0 below.
        var g = tensor(new float[] { 1f, -1e-3f, 1e-5f, 0f, -2e-5f });
        var x = GradientPreprocessor.Apply(g, GradientPreprocessing.LogSign, 10).t().contiguous().data<float>().ToArray();
        float[] expected =
        [
            0f, 1f,
            (float)(Math.Log(1e-3) / 10), -1f,
            -1f, (float)(Math.Exp(10) * 1e-5),
            -1f, 0f,
            -1f, (float)(Math.Exp(10) * -2e-5),
        ];
        Assert.Equal(expected.Length, x.Length);
        for (var i = 0; i < x.Length; i++)
        {
            Assert.Equal(expected[i], x[i], 1e-4f);
        }
    }

    [Fact]
    public void DeepMindLogSignClampsBothParts()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var g = tensor(new float[] { 1f, -1e-4f, 0f });
        var x = GradientPreprocessor.Apply(g, GradientPreprocessing.DeepMindLogSign, 5).t().contiguous().data<float>().ToArray();
        // log(1 + eps)/5 ≈ 0, sign part e^5 clamped to 1; -1e-4: log/5 = -1.842 → -1, e^5·-1e-4 = -0.01484; 0: log(eps)/5 → -1, 0.
        float[] expected = [0f, 1f, -1f, (float)(Math.Exp(5) * -1e-4), -1f, 0f];
        for (var i = 0; i < x.Length; i++)
        {
            Assert.Equal(expected[i], x[i], 1e-4f);
        }
    }

    [Fact]
    public void NoneIsTheRawGradientAsOneRow()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var x = GradientPreprocessor.Apply(tensor(new float[] { 3f, -2f }), GradientPreprocessing.None, 10);
        Assert.Equal(new long[] { 1, 2 }, x.shape);
        Assert.Equal(new[] { 3f, -2f }, x.data<float>().ToArray());
    }
}
