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
/// environments without gradients. DRC(2, 2) with 16 channels over a 7×7 grid, encoder 8 channels,
/// features 64 — the sizes of experiments/ppo-maze-drc-7.toml — one LibTorch thread.
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

    /// <summary>Forward through [64, 16] and backward from a loss on every logit and value.</summary>
    [Benchmark(Baseline = true)]
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
