using Telos.Learning.LearnedOptimizers;
using Telos.Learning.Native;
using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.LearnedOptimizers;

public sealed class MetaTrainerTests
{
    private static readonly QuadraticTask Tiny = new(Dimensions: 3);

    [Fact]
    public void MetaGradientHasNoSecondDerivatives()
    {
        TorchRuntime.EnsureInitialized();
        TorchRuntime.Seed(11);
        using var scope = NewDisposeScope();
        using var network = new CoordinatewiseLstm(LstmOptimizerOptions.Paper, seed: 11);
        using var reference = new CoordinatewiseLstm(LstmOptimizerOptions.Paper, seed: 11);
        MetaTrainer.CopyWeights(network, reference);
        const ulong seed = 5;
        var options = new MetaTrainingOptions(Horizon: 2, Unroll: 2, ProblemsPerBatch: 2, MaxProblems: 1, ValidationProblems: 2);
        using var trainer = new MetaTrainer(network, Tiny, options, seed);
        trainer.MetaStep();
        var trainerGrads = network.parameters().Select(p => p.grad!.clone()).ToArray();

        Tensor[] Reference(bool secondOrder)
        {
            using var batch = Tiny.Sample(2, Seeds.Derive(seed, "train/0"));
            var theta0 = batch.InitialParameters().requires_grad_(true);
            var g0 = autograd.grad([batch.Loss(theta0, 0).sum()], [theta0])[0].detach();
            var (u1, s1) = reference.call(g0, reference.InitialState(6));
            var theta1 = theta0.detach().add(u1.view(2, 3));
            var loss1 = batch.Loss(theta1, 1);
            var g1 = autograd.grad([loss1.sum()], [theta1], retain_graph: true, create_graph: secondOrder)[0];
            // LSTM input preprocessing detaches; to let second derivatives in we feed the raw gradient path.
            var (u2, _) = secondOrder ? ForwardKeepingGraph(reference, g1, s1) : reference.call(g1.detach(), s1);
            var theta2 = theta1.add(u2.view(2, 3));
            var metaLoss = loss1.mean().add(batch.Loss(theta2, 2).mean());
            return autograd.grad([metaLoss], reference.parameters().ToArray()).ToArray();
        }

        var firstOrder = Reference(secondOrder: false);
        var secondOrder = Reference(secondOrder: true);
        var maxDifferenceToSecondOrder = 0.0;
        for (var i = 0; i < trainerGrads.Length; i++)
        {
            Assert.True(trainerGrads[i].allclose(firstOrder[i], rtol: 1e-4, atol: 1e-5), $"parameter {i}: trainer meta-gradient differs from the first-order one");
            maxDifferenceToSecondOrder = Math.Max(maxDifferenceToSecondOrder, trainerGrads[i].sub(secondOrder[i]).abs().max().item<float>());
        }
        Assert.True(maxDifferenceToSecondOrder > 1e-4, "second-order meta-gradient should differ; the test would not detect a graph leak");
    }

    // The module's forward detaches its input; this replicates it without the detach so that the
    // reference can include second derivatives and show they make a difference.
    private static (Tensor, LstmOptimizerState) ForwardKeepingGraph(CoordinatewiseLstm net, Tensor gradient, LstmOptimizerState state)
    {
        var threshold = Math.Exp(-10);
        var g = gradient.reshape(-1, 1);
        var large = g.abs().ge(threshold);
        var x = cat([where(large, g.abs().clamp_min(threshold).log().div(10), full_like(g, -1.0)), where(large, g.sign(), g.mul(Math.Exp(10)))], 1);
        var cells = net.children().OfType<TorchSharp.Modules.ModuleList<TorchSharp.Modules.LSTMCell>>().Single();
        var head = net.children().OfType<TorchSharp.Modules.Linear>().Single();
        var h = new Tensor[cells.Count];
        var c = new Tensor[cells.Count];
        for (var l = 0; l < cells.Count; l++)
        {
            (h[l], c[l]) = cells[l].call(x, (state.Hidden[l].t(), state.Cell[l].t()));
            x = h[l];
        }
        return (head.call(x).squeeze(1), state);
    }

    [Fact]
    public void AFewMetaStepsReduceTheValidationMetaLoss()
    {
        TorchRuntime.EnsureInitialized();
        TorchRuntime.Seed(12);
        using var network = new CoordinatewiseLstm(LstmOptimizerOptions.Paper, seed: 12);
        var options = new MetaTrainingOptions(Horizon: 20, Unroll: 5, ProblemsPerBatch: 16, MetaLearningRate: 0.01, MaxProblems: 6, ValidateEvery: 6, ValidationProblems: 32);
        using var trainer = new MetaTrainer(network, new QuadraticTask(), options, 3);
        var before = trainer.Validate().MeanLoss;
        var metaLosses = new List<double>();
        trainer.Train(onMetaStep: r => metaLosses.Add(r.MetaLoss));
        var after = trainer.Validations[^1].MeanLoss;
        Assert.Equal(24, metaLosses.Count);
        Assert.True(after < 0.5 * before, $"validation meta-loss {before} -> {after}");
        Assert.True(trainer.BestValidation <= after);
    }

    [Fact]
    public void SameSeedSameWeightsAndCurves()
    {
        TorchRuntime.EnsureInitialized();
        float[] Run()
        {
            TorchRuntime.Seed(13);
            using var network = new CoordinatewiseLstm(LstmOptimizerOptions.Paper, seed: 13);
            var options = new MetaTrainingOptions(Horizon: 10, Unroll: 5, ProblemsPerBatch: 4, MaxProblems: 2, ValidateEvery: 2, ValidationProblems: 4);
            using var trainer = new MetaTrainer(network, Tiny, options, 9);
            trainer.Train();
            using var scope = NewDisposeScope();
            return network.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void CheckpointRoundTripContinuesIdentically()
    {
        TorchRuntime.EnsureInitialized();
        var options = new MetaTrainingOptions(Horizon: 10, Unroll: 5, ProblemsPerBatch: 4, MaxProblems: 3, ValidateEvery: 1, ValidationProblems: 4);
        float[] Weights(CoordinatewiseLstm n)
        {
            using var scope = NewDisposeScope();
            return n.parameters().SelectMany(p => p.data<float>().ToArray()).ToArray();
        }

        TorchRuntime.Seed(14);
        using var straight = new CoordinatewiseLstm(LstmOptimizerOptions.Paper, seed: 14);
        using (var trainer = new MetaTrainer(straight, Tiny, options, 2))
        {
            trainer.Train();
        }

        TorchRuntime.Seed(14);
        using var first = new CoordinatewiseLstm(LstmOptimizerOptions.Paper, seed: 14);
        Dictionary<string, Tensor> saved;
        MetaTrainerProgress savedProgress;
        using (var trainer = new MetaTrainer(first, Tiny, options with { MaxProblems = 1 }, 2))
        {
            trainer.Train();
            (saved, savedProgress) = trainer.CaptureCheckpoint();
        }
        TorchRuntime.Seed(99); // different init: everything must come from the checkpoint
        using var resumed = new CoordinatewiseLstm(LstmOptimizerOptions.Paper, seed: 99);
        using (var trainer = new MetaTrainer(resumed, Tiny, options, 2))
        {
            trainer.RestoreCheckpoint(saved, savedProgress);
            Assert.Equal(1, trainer.ProblemsDone);
            trainer.Train();
            Assert.Equal(3, trainer.ProblemsDone);
        }
        Assert.Equal(Weights(straight), Weights(resumed));
    }
}
