using Telos.Learning.Native;
using static TorchSharp.torch;

namespace Telos.Benchmarks;

/// <summary>
/// One Adam step (forward, MSE loss, backward, update) on a 64-256-256-8 ReLU MLP with a batch
/// of 1024, one intra-op thread. Peer: bench/peers/mlp-adam.py, the same in PyTorch.
/// </summary>
public sealed class MlpAdamStep : IPeerWorkload
{
    public string Name => "mlp-adam";

    public string Unit => "ms/step";

    public double Measure()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        TorchRuntime.Seed(0);
        var model = nn.Sequential(
            nn.Linear(64, 256), nn.ReLU(),
            nn.Linear(256, 256), nn.ReLU(),
            nn.Linear(256, 8));
        var optimizer = optim.Adam(model.parameters(), lr: 1e-3);
        var x = randn(1024, 64);
        var y = randn(1024, 8);
        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = nn.functional.mse_loss(model.call(x), y);
            loss.backward();
            optimizer.step();
        }
        return PeerMeasurements.MedianMilliseconds(Step, warmup: 20, repeats: 201);
    }
}
