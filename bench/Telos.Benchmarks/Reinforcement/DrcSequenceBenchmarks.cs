using BenchmarkDotNet.Attributes;
using Telos.Benchmarks.Search;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Benchmarks.Reinforcement;

/// <summary>
/// What one PPO minibatch costs a DRC policy: forward and backward through a 64-step sequence of 16
/// environments (the update recomputes every state through the sequence), and one rollout step of 64
/// environments without gradients. DRC(2, 2) with 16 channels (experiments/ppo-maze-drc.toml's policy)
/// over a 7×7 grid, encoder 8 channels, features 64, one LibTorch thread. The baseline is the same
/// function computed the direct way, from the policy's parameters: one convolution over
/// [x, below, hidden] per layer and tick, the gates in their stored order i, f, g, o.
/// <c>dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*DrcSequence*'</c>
/// </summary>
[Config(typeof(InProcessShortRunConfig))]
public class DrcSequenceBenchmarks
{
    private const int Steps = 64;
    private const int Lanes = 16;
    private const int RolloutLanes = 64;
    private static readonly ObservationShape Grid = new(5, 7, 7);

    private DrcActorCritic _policy = null!;
    private Tensor _observations = null!; // [64, 16, 5, 7, 7]
    private Tensor _starts = null!;       // [64, 16], an episode start every 20 steps
    private Tensor _step = null!;         // [1, 64, 5, 7, 7]
    private Tensor _stepStarts = null!;   // [1, 64]
    private RecurrentState _state;
    private RecurrentState _rolloutState;

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        TorchRuntime.Seed(0);
        _policy = new DrcActorCritic(Grid, 4, new PolicyOptions(PolicyKind.Drc, ConvChannels: 8, Features: 64, DrcLayers: 2, DrcTicks: 2, DrcChannels: 16), seed: 1);
        _observations = rand([Steps, Lanes, Grid.Channels, Grid.Height, Grid.Width]);
        _starts = zeros(Steps, Lanes);
        for (var t = 0; t < Steps; t += 20)
        {
            _starts[t] = ones(Lanes);
        }
        _step = rand([1, RolloutLanes, Grid.Channels, Grid.Height, Grid.Width]);
        _stepStarts = zeros(1, RolloutLanes);
        _state = _policy.InitialState(Lanes).Keep();
        _rolloutState = _policy.InitialState(RolloutLanes).Keep();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _observations, _starts, _step, _stepStarts })
        {
            t.Dispose();
        }
        _state.Dispose();
        _rolloutState.Dispose();
        _policy.Dispose();
    }

    /// <summary>The direct formulation's forward through [64, 16] and backward, from the same parameters.</summary>
    [Benchmark(Baseline = true)]
    public void DirectForwardBackwardSequence()
    {
        using var scope = NewDisposeScope();
        _policy.zero_grad();
        var p = _policy.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        Tensor Conv(Tensor input, string name) => nn.functional.conv2d(input, p[name + ".weight"], p[name + ".bias"], padding: [1, 1]);
        var x = nn.functional.relu(Conv(nn.functional.relu(Conv(_observations.flatten(0, 1), "encoder.conv1")), "encoder.conv2"));
        var maps = x.view([Steps, Lanes, .. x.shape.AsSpan(1)]).unbind(0);
        var keeps = _starts.neg().add(1).view(Steps, Lanes, 1, 1, 1).unbind(0);
        var hidden = new[] { zeros(Lanes, 16, 7, 7), zeros(Lanes, 16, 7, 7) };
        var cell = new[] { zeros(Lanes, 16, 7, 7), zeros(Lanes, 16, 7, 7) };
        var tops = new Tensor[Steps];
        for (var t = 0; t < Steps; t++)
        {
            for (var d = 0; d < 2; d++)
            {
                (hidden[d], cell[d]) = (hidden[d].mul(keeps[t]), cell[d].mul(keeps[t]));
            }
            for (var tick = 0; tick < 2; tick++)
            {
                for (var d = 0; d < 2; d++)
                {
                    var gates = Conv(cat([maps[t], hidden[1 - d], hidden[d]], 1), $"drc.layer{d}.gates").chunk(4, 1);
                    cell[d] = gates[1].sigmoid().mul(cell[d]).add(gates[0].sigmoid().mul(gates[2].tanh()));
                    hidden[d] = gates[3].sigmoid().mul(cell[d].tanh());
                }
            }
            tops[t] = hidden[1];
        }
        var features = nn.functional.relu(nn.functional.linear(cat([stack(tops).flatten(2), x.view(Steps, Lanes, -1)], 2), p["drc.output.weight"], p["drc.output.bias"]));
        var logits = nn.functional.linear(features, p["actor.weight"], p["actor.bias"]);
        var values = nn.functional.linear(features, p["critic.weight"], p["critic.bias"]).squeeze(-1);
        logits.square().mean().add(values.square().mean()).backward();
    }

    /// <summary>The policy's forward through [64, 16] and backward from a loss on every logit and value.</summary>
    [Benchmark]
    public void ForwardBackwardSequence()
    {
        using var scope = NewDisposeScope();
        _policy.zero_grad();
        var output = _policy.Unroll(_observations, _state, _starts);
        output.Logits.square().mean().add(output.Values.square().mean()).backward();
    }

    /// <summary>One rollout step: [1, 64] without gradients.</summary>
    [Benchmark]
    public void RolloutStep()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _policy.Unroll(_step, _rolloutState, _stepStarts);
    }
}
