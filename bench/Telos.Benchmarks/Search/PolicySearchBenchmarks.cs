using BenchmarkDotNet.Attributes;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Planning;
using Telos.Learning.Reinforcement.Policies;
using Telos.Planning.Search;
using static TorchSharp.torch;

namespace Telos.Benchmarks.Search;

/// <summary>
/// The search training's own search: <see cref="PolicySearch{TState}"/> at B = 64 roots (64 levels of 7×7 maze/train,
/// step limit 60), N = 64 Gumbel simulations, with the true model, against the N + 1 forward passes of the same policy on
/// a [64] batch alone (the roots' and one per wave). For the DRC the search also gathers the parents' state rows from the
/// tree's state pool and scatters the children's at every wave, and the forward passes alone start from a state
/// [64, S] (no gathering). Search / ForwardPassesOnly is the search's overhead over its network (goal ≤ 1.25).
/// Networks: the feed-forward CNN of experiments/search-budget.toml (conv_channels 16, features 128) and the DRCs of
/// experiments/search-budget-drc.toml (conv_channels 16, features 128, drc_channels 16; DRC(1, 1) and DRC(2, 2)).
/// <c>dotnet run -c Release --project bench/Telos.Benchmarks -- --filter '*PolicySearch*'</c>
/// </summary>
[Config(typeof(InProcessShortRunConfig))]
public class PolicySearchBenchmarks
{
    private const int Batch = 64;
    private const int Simulations = 64;

    private ActorCritic _policy = null!;
    private PolicySearch<MazeState> _search = null!;
    private IEnvironment<MazeState>[] _levels = null!;
    private MazeState[] _states = null!;
    private ulong[] _seeds = null!;
    private Tensor _observations = null!;
    private RecurrentState _rootStates;
    private Tensor _starts = null!;
    private ulong _step;

    /// <summary>"cnn", "drc11" (DRC(1, 1)) or "drc22" (DRC(2, 2)).</summary>
    [Params("cnn", "drc11", "drc22")]
    public string Network { get; set; } = "cnn";

    [GlobalSetup]
    public void Setup()
    {
        TorchRuntime.EnsureInitialized();
        var options = Network switch
        {
            "cnn" => new PolicyOptions(PolicyKind.Cnn, ConvChannels: 16, Features: 128),
            "drc11" => new PolicyOptions(PolicyKind.Drc, ConvChannels: 16, Features: 128, DrcLayers: 1, DrcTicks: 1, DrcChannels: 16),
            "drc22" => new PolicyOptions(PolicyKind.Drc, ConvChannels: 16, Features: 128, DrcLayers: 2, DrcTicks: 2, DrcChannels: 16),
            _ => throw new ArgumentException($"unknown network {Network}"),
        };
        var distribution = MazeFamily.Instance.Distribution("maze/train", DistributionParameters.Of(("size", 7), ("step_limit", 60)));
        _levels = [.. Enumerable.Range(0, Batch).Select(i => (IEnvironment<MazeState>)distribution.Level(i))];
        _states = [.. _levels.Select(l => l.Initial)];
        _seeds = new ulong[Batch];
        _policy = ActorCritic.Create(_levels[0].ObservationShape, _levels[0].ActionCount, options, seed: 1);
        _search = new PolicySearch<MazeState>(_policy, Batch, Simulations, new GumbelPolicy(), discount: 0.99f);
        var o = _policy.Observation;
        var features = new float[Batch * o.Size];
        for (var i = 0; i < Batch; i++)
        {
            _levels[i].WriteObservation(_states[i], features.AsSpan(i * o.Size, o.Size));
        }
        _observations = tensor(features).view(1, Batch, o.Channels, o.Height, o.Width).DetachFromDisposeScope();
        using (NewDisposeScope())
        {
            var state = _policy.InitialState(Batch);
            _rootStates = new RecurrentState(state.Hidden.add(0.1).MoveToOuterDisposeScope(), state.Cell.add(0.1).MoveToOuterDisposeScope());
        }
        _starts = zeros(1, Batch).DetachFromDisposeScope();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _search.Dispose();
        _policy.Dispose();
        _observations.Dispose();
        _rootStates.Dispose();
        _starts.Dispose();
    }

    [Benchmark]
    public int Search()
    {
        _step++;
        for (var i = 0; i < Batch; i++)
        {
            _seeds[i] = SearchSeeds.ForRoot(_step, i);
        }
        return _search.Run(_levels, _states, _seeds, _search.Recurrent ? _rootStates : null).Actions[0];
    }

    [Benchmark(Baseline = true)]
    public void ForwardPassesOnly()
    {
        for (var i = 0; i <= Simulations; i++)
        {
            using (NewDisposeScope())
            using (no_grad())
            {
                _policy.Unroll(_observations, _rootStates, _starts);
            }
        }
    }
}
