using BenchmarkDotNet.Attributes;
using Telos.Benchmarks.Search;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Benchmarks.Reinforcement;

/// <summary>
/// What the LSTM costs one PPO minibatch of experiments/ppo-maze.toml's policy (features 64, LSTM 64)
/// and bench/peers/run.sh ppo-maze: forward and backward through a 64-step sequence of 4 environments
/// (an episode start every 20 steps), on <see cref="LstmKernel.LibTorch"/> (LSTMCell per tick under
/// autograd) and <see cref="LstmKernel.Fused"/> (<see cref="LstmSequence"/>); the LSTM alone, and the
/// whole policy (encoder, LSTM, heads); and one rollout step of 16 environments without gradients.
/// One LibTorch thread.
/// <c>dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*LstmSequence*'</c>
/// </summary>
[Config(typeof(InProcessShortRunConfig))]
public class LstmSequenceBenchmarks
{
    private const int Steps = 64;
    private const int Lanes = 4;
    private const int RolloutLanes = 16;
    private static readonly ObservationShape Grid = new(3, 5, 5);

    private LstmActorCritic _policy = null!;
    private Tensor _features = null!;     // [64, 4, 64], requires grad
    private Tensor _keeps = null!;        // [64, 4]
    private Tensor _observations = null!; // [64, 4, 3, 5, 5]
    private Tensor _starts = null!;       // [64, 4]
    private Tensor _step = null!;         // [1, 16, 3, 5, 5]
    private Tensor _stepStarts = null!;   // [1, 16]
    private RecurrentState _state;
    private RecurrentState _rolloutState;
    private TorchSharp.Modules.LSTMCell _cell = null!;

    [Params(LstmKernel.LibTorch, LstmKernel.Fused)]
    public LstmKernel Kernel { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        TorchRuntime.Seed(0);
        _policy = new LstmActorCritic(Grid, 4, new PolicyOptions(PolicyKind.Lstm, ConvChannels: 8, Features: 64, LstmSize: 64), seed: 1) { LstmKernel = Kernel };
        _cell = nn.LSTMCell(64, 64);
        _features = rand([Steps, Lanes, 64]).requires_grad_();
        _starts = zeros(Steps, Lanes);
        for (var t = 0; t < Steps; t += 20)
        {
            _starts[t] = ones(Lanes);
        }
        _keeps = _starts.neg().add(1);
        _observations = rand([Steps, Lanes, Grid.Channels, Grid.Height, Grid.Width]);
        _step = rand([1, RolloutLanes, Grid.Channels, Grid.Height, Grid.Width]);
        _stepStarts = zeros(1, RolloutLanes);
        _state = _policy.InitialState(Lanes).Keep();
        _rolloutState = _policy.InitialState(RolloutLanes).Keep();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { _features, _keeps, _observations, _starts, _step, _stepStarts })
        {
            t.Dispose();
        }
        _state.Dispose();
        _rolloutState.Dispose();
        _policy.Dispose();
        _cell.Dispose();
    }

    /// <summary>The LSTM alone (an LSTMCell's weights) through [64, 4] from features [64, 4, 64], and backward from a loss on every hidden state and the last cell.</summary>
    [Benchmark]
    public void LstmForwardBackward()
    {
        using var scope = NewDisposeScope();
        _cell.zero_grad();
        Tensor hidden, cell;
        if (Kernel == LstmKernel.Fused)
        {
            (hidden, cell) = LstmSequence.Run(_features, _state.Hidden, _state.Cell, _keeps, _cell.weight_ih!, _cell.weight_hh!, _cell.bias_ih!, _cell.bias_hh!);
        }
        else
        {
            var (h, c) = (_state.Hidden, _state.Cell);
            var outputs = new Tensor[Steps];
            var keeps = _keeps.unsqueeze(2);
            for (var t = 0; t < Steps; t++)
            {
                var keep = keeps[t];
                (h, c) = _cell.call(_features[t], (h.mul(keep), c.mul(keep)));
                outputs[t] = h;
            }
            (hidden, cell) = (stack(outputs), c);
        }
        hidden.square().mean().add(cell.square().mean()).backward();
    }

    /// <summary>The whole policy's forward through [64, 4] and backward from a loss on every logit and value.</summary>
    [Benchmark]
    public void PolicyForwardBackward()
    {
        using var scope = NewDisposeScope();
        _policy.zero_grad();
        var output = _policy.Unroll(_observations, _state, _starts);
        output.Logits.square().mean().add(output.Values.square().mean()).backward();
    }

    /// <summary>One rollout step: [1, 16] without gradients.</summary>
    [Benchmark]
    public void RolloutStep()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _policy.Unroll(_step, _rolloutState, _stepStarts);
    }
}
