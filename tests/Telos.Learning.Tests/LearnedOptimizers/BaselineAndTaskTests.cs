using Telos.Learning.LearnedOptimizers;
using Telos.Learning.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.LearnedOptimizers;

public sealed class BaselineAndTaskTests
{
    [Theory]
    [InlineData(BaselineKind.Sgd)]
    [InlineData(BaselineKind.Nag)]
    [InlineData(BaselineKind.RmsProp)]
    [InlineData(BaselineKind.Adam)]
    public void BaselineMatchesTorchOptimizer(BaselineKind kind)
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        const double lr = 0.05;
        using var batch = new QuadraticTask(Dimensions: 4).Sample(3, 21);
        var theta = batch.InitialParameters();
        var parameter = new TorchSharp.Modules.Parameter(batch.InitialParameters());
        optim.Optimizer reference = kind switch
        {
            BaselineKind.Sgd => optim.SGD([parameter], lr),
            BaselineKind.Nag => optim.SGD([parameter], lr, momentum: BaselineRule.Momentum, nesterov: true),
            BaselineKind.RmsProp => optim.RMSProp([parameter], lr, alpha: BaselineRule.RmsDecay, eps: BaselineRule.Epsilon),
            _ => optim.Adam([parameter], lr, BaselineRule.Beta1, BaselineRule.Beta2, BaselineRule.Epsilon),
        };
        using var rule = new BaselineRule(kind, lr);
        for (var t = 0; t < 5; t++)
        {
            var leaf = theta.detach().requires_grad_(true);
            var g = autograd.grad([batch.Loss(leaf, t).sum()], [leaf])[0];
            theta = theta.add(rule.Step(g));
            reference.zero_grad();
            batch.Loss(parameter, t).sum().backward();
            reference.step();
        }
        Assert.True(theta.allclose(parameter.detach(), rtol: 1e-4, atol: 1e-5), $"{kind}: {theta.str()} vs {parameter.str()}");
    }

    [Fact]
    public void LogGridIncludesBothEnds()
    {
        var grid = LearningRateSearch.LogGrid(1e-3, 1, 2);
        Assert.Equal(7, grid.Length);
        Assert.Equal(1e-3, grid[0], 12);
        Assert.Equal(1.0, grid[^1], 9);
        Assert.Throws<TelosInputException>(() => LearningRateSearch.LogGrid(0, 1, 2));
    }

    [Fact]
    public void LearningRateSearchFlagsABestAtTheEdge()
    {
        TorchRuntime.EnsureInitialized();
        using var batch = new QuadraticTask().Sample(8, 4);
        var narrow = LearningRateSearch.Run(BaselineKind.Adam, [1e-4, 1e-3], batch, 20);
        Assert.Equal(1, narrow.BestIndex); // more is better at such small rates
        Assert.False(narrow.BestIsInterior);
        var wide = LearningRateSearch.Run(BaselineKind.Sgd, LearningRateSearch.LogGrid(1e-4, 10, 1), batch, 20);
        Assert.True(double.IsPositiveInfinity(wide.FinalLoss[^1])); // lr 10 diverges on these quadratics
        Assert.True(wide.BestIsInterior);
    }

    [Fact]
    public void FashionMnistAbsentNamesThePackage()
    {
        var empty = Directory.CreateTempSubdirectory("telos-no-fmnist-");
        try
        {
            var e = Assert.Throws<TelosInputException>(() => IdxImages.LoadFashionMnist(IdxImages.Split.Train, empty.FullName));
            Assert.Contains("dataset-fashion-mnist", e.Message);
            Assert.Contains(empty.FullName, e.Message);
        }
        finally
        {
            empty.Delete(true);
        }
    }

    [Fact]
    public void MlpOnTinyGeneratedIdxDataLearns()
    {
        TorchRuntime.EnsureInitialized();
        var folder = Directory.CreateTempSubdirectory("telos-idx-");
        try
        {
            // 64 images of 4×4; the label is which quadrant is bright, so a small MLP can learn it.
            var rng = new Telos.Randomness.Rng(1);
            const int count = 64;
            var pixels = new byte[count * 16];
            var labels = new byte[count];
            for (var i = 0; i < count; i++)
            {
                labels[i] = (byte)rng.NextInt(4);
                for (var p = 0; p < 16; p++)
                {
                    var quadrant = (p / 8) * 2 + (p % 4) / 2;
                    pixels[i * 16 + p] = (byte)(quadrant == labels[i] ? 200 + rng.NextInt(55) : rng.NextInt(60));
                }
            }
            IdxImages.WriteImages(Path.Combine(folder.FullName, "train-images-idx3-ubyte"), pixels, count, 4, 4);
            IdxImages.WriteLabels(Path.Combine(folder.FullName, "train-labels-idx1-ubyte"), labels);
            using var data = IdxImages.LoadFolder(folder.FullName, IdxImages.Split.Train);
            Assert.Equal(count, data.Count);
            Assert.Equal(16, data.Pixels);
            var task = new MlpTask(data, [5], MlpActivation.Sigmoid, batchSize: 16);
            Assert.Equal(16 * 5 + 5 + 5 * 10 + 10, task.Dimension);
            using var batch = task.Sample(3, 8);
            using var adam = new BaselineRule(BaselineKind.Adam, 0.05);
            var curves = OptimizeeRunner.Run(batch, adam, 60);
            var (start, _) = curves.MeanWithCi(0);
            var (end, _) = curves.MeanWithCi(60);
            Assert.True(start > 2.0, $"initial cross-entropy over 10 classes should be near ln 10, got {start}");
            Assert.True(end < 0.5 * start, $"Adam should learn the quadrant task: {start} -> {end}");
            // Same seed → same minibatches: a second run gives the same curve.
            Assert.Equal(curves.Loss, OptimizeeRunner.Run(batch, adam, 60).Loss);
        }
        finally
        {
            folder.Delete(true);
        }
    }
}
