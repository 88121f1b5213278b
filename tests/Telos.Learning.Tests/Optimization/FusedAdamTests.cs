using Telos.Learning.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Optimization;

public sealed class FusedAdamTests
{
    /// <summary>A two-layer network's parameters (sizes that are not multiples of a SIMD vector, so the scalar tails run too), drawn from a seed.</summary>
    private static Parameter[] Network(long seed)
    {
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        return [.. new long[][] { [9, 6], [9], [3, 9], [3] }.Select(shape => new Parameter(randn(shape, generator: generator).mul(0.7)))];
    }

    /// <summary>Mean squared error of tanh(x·W₁ᵀ + b₁)·W₂ᵀ + b₂ against targets scaled by <paramref name="targetScale"/>, on minibatch <paramref name="step"/>.</summary>
    private static Tensor Loss(Parameter[] p, int step, double targetScale)
    {
        using var generator = new Generator((ulong)(100 + step));
        var x = randn([11, 6], generator: generator);
        var y = randn([11, 3], generator: generator).mul(targetScale);
        var hidden = nn.functional.linear(x, p[0], p[1]).tanh();
        return nn.functional.linear(hidden, p[2], p[3]).sub(y).square().mean();
    }

    private static double MaxDifference(Tensor a, Tensor b) => a.sub(b).abs().max().item<float>();

    /// <summary>
    /// Six steps of FusedAdam.Step(maxNorm) against clip_grad_norm_ + TorchSharp's (LibTorch's) Adam
    /// from the same weights on the same minibatches: the parameters, both moments and the returned
    /// norms agree to 1e-6 after every step; with a clip that cuts every step's norm and with one
    /// that never does.
    /// </summary>
    [Theory]
    [InlineData(0.5, 30.0)]
    [InlineData(1e6, 1.0)]
    public void StepsAsClipGradNormAndTorchAdam(double maxNorm, double targetScale)
    {
        using var scope = NewDisposeScope();
        var reference = Network(3);
        var fused = Network(3);
        using var adam = optim.Adam(reference, lr: 0.01, eps: 1e-5);
        using var fusedAdam = new FusedAdam(fused, learningRate: 0.01, eps: 1e-5);
        var clipped = 0;
        for (var step = 0; step < 6; step++)
        {
            // The rate changes between steps, as PPO's annealing does.
            var rate = 0.01 * (1 - step / 8.0);
            foreach (var group in adam.ParamGroups)
            {
                group.LearningRate = rate;
            }
            fusedAdam.LearningRate = rate;

            adam.zero_grad();
            Loss(reference, step, targetScale).backward();
            var referenceNorm = nn.utils.clip_grad_norm_(reference, maxNorm);
            adam.step();

            fusedAdam.ZeroGrad();
            Loss(fused, step, targetScale).backward();
            var norm = fusedAdam.Step(maxNorm);

            clipped += referenceNorm > maxNorm ? 1 : 0;
            Assert.InRange(Math.Abs(norm - referenceNorm), 0, 1e-6 * Math.Max(1, referenceNorm));
            var state = adam.state_dict();
            for (var i = 0; i < reference.Length; i++)
            {
                var s = (Adam.State)state.State[i];
                Assert.InRange(MaxDifference(reference[i], fused[i]), 0, 1e-6);
                Assert.InRange(MaxDifference(s.exp_avg, fusedAdam.ExpAvg[i]), 0, 1e-6);
                Assert.InRange(MaxDifference(s.exp_avg_sq, fusedAdam.ExpAvgSq[i]), 0, 1e-6);
                Assert.Equal(s.step, fusedAdam.Steps[i]);
            }
        }
        // The first case must exercise the clip at every step, the second never.
        Assert.Equal(maxNorm < 1 ? 6 : 0, clipped);
        // And the weights moved: the comparison is not of two unchanged copies.
        Assert.True(MaxDifference(Network(3)[0], fused[0]) > 1e-3);
    }

    /// <summary>A NaN gradient: Step returns NaN and changes nothing (weights, moments, step counts, gradients), so the caller can refuse the step.</summary>
    [Fact]
    public void ANonFiniteGradientChangesNothing()
    {
        using var scope = NewDisposeScope();
        var p = Network(4);
        using var fusedAdam = new FusedAdam(p, learningRate: 0.01);
        Loss(p, 0, 1).backward();
        fusedAdam.Step(1.0);
        fusedAdam.ZeroGrad();
        Loss(p, 1, 1).backward();
        using (no_grad())
        {
            p[2].grad![1, 4] = float.NaN;
        }
        var before = p.Select(t => t.detach().clone()).Concat(fusedAdam.ExpAvg.Select(t => t.clone())).Concat(fusedAdam.ExpAvgSq.Select(t => t.clone())).ToArray();
        var grads = p.Select(t => t.grad!.clone()).ToArray();

        Assert.True(double.IsNaN(fusedAdam.Step(1.0)));

        var after = p.Select(t => t.detach()).Concat(fusedAdam.ExpAvg).Concat(fusedAdam.ExpAvgSq).ToArray();
        Assert.All(before.Zip(after), pair => Assert.True(pair.First.eq(pair.Second).all().item<bool>()));
        Assert.All(grads.Zip(p), pair => Assert.True(pair.First.isnan().eq(pair.Second.grad!.isnan()).all().item<bool>() && pair.First.nan_to_num().eq(pair.Second.grad!.nan_to_num()).all().item<bool>()));
        Assert.All(fusedAdam.Steps, s => Assert.Equal(1, s));
    }
}
