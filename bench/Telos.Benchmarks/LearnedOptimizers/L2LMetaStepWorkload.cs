using Telos.Learning.LearnedOptimizers;
using Telos.Learning.Native;

namespace Telos.Benchmarks.LearnedOptimizers;

/// <summary>
/// One L2L meta-training step (bench/peers/l2l-meta-step.py is the PyTorch twin): 128 random 10-d
/// quadratics side by side, unroll 20 of a 2×20 coordinatewise LSTM with log/sign preprocessing
/// (p = 10), meta-loss Σ_t mean f(θ_t), backward, meta-Adam step. 1 LibTorch thread on both sides.
/// Horizon = unroll so every meta-step draws fresh problems (problem sampling is included).
/// </summary>
public sealed class L2LMetaStepWorkload : IPeerWorkload
{
    public string Name => "l2l-meta-step";

    public string Unit => "ms/meta-step";

    public double Measure()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        TorchRuntime.Seed(0);
        using var network = new CoordinatewiseLstm(LstmOptimizerOptions.Paper, seed: 0);
        var options = new MetaTrainingOptions(Horizon: 20, Unroll: 20, ProblemsPerBatch: 128, MetaLearningRate: 0.003, MaxProblems: int.MaxValue);
        using var trainer = new MetaTrainer(network, new QuadraticTask(), options, 1);
        return PeerMeasurements.MedianMilliseconds(() => trainer.MetaStep(), warmup: 10, repeats: 51);
    }
}
