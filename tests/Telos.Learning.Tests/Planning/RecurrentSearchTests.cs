using Telos.Agents;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Planning;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using Telos.Learning.Runs;
using Telos.Learning.Tests.Reinforcement;
using Telos.Planning.Search;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Planning;

/// <summary>
/// One toy run of the recurrent family: the <see cref="ToySearchTraining"/> task (5×5 maze/train, cheese in the corner,
/// step limit 40) with a small DRC(1, 1) trained for 40 iterations of 16 environments × 8 steps at 16 simulations.
/// </summary>
public sealed class ToyRecurrentSearchTraining : IDisposable
{
    public static readonly PolicyOptions Options = new(PolicyKind.Drc, ConvChannels: 8, Features: 32, DrcLayers: 1, DrcTicks: 1, DrcChannels: 8);

    public static (ActorCritic Policy, SearchTraining<MazeState> Trainer) Trainer(SearchTrainingSettings settings) =>
        SearchTraining.Create(PpoFixtures.Family, PpoFixtures.Train(ToySearchTraining.Size, ToySearchTraining.StepLimit), settings, Options, poolSize: 256);

    public ToyRecurrentSearchTraining()
    {
        var (policy, trainer) = Trainer(ToySearchTraining.Settings(40) with { MinibatchSize = 80 });
        Policy = policy;
        using (trainer)
        {
            Before = SearchTrainingTests.NetworkAlone(policy);
            Metrics = trainer.Train();
        }
        After = SearchTrainingTests.NetworkAlone(policy);
    }

    public ActorCritic Policy { get; }

    public double Before { get; }

    public double After { get; }

    public IReadOnlyList<SearchTrainingMetrics> Metrics { get; }

    public void Dispose() => Policy.Dispose();
}

public sealed class RecurrentSearchTests(ToyRecurrentSearchTraining toy, ITestOutputHelper output) : IClassFixture<ToyRecurrentSearchTraining>
{
    private static readonly PolicyOptions Tiny = new(PolicyKind.Drc, ConvChannels: 4, Features: 16, DrcLayers: 2, DrcTicks: 2, DrcChannels: 4);

    /// <summary>
    /// Every node of a recurrent search against a hand-unrolled reference: for each root (a random running state, its own
    /// level) and each node of its tree, the path's states are re-stepped with the level's own Step from the root's
    /// state, and the network is stepped one observation at a time (batch 1) from the root's running state along the
    /// path. The node's stored prior and raw value must be the reference's last step; the roots' states after the search
    /// must be the reference's first step.
    /// </summary>
    [Fact]
    public void EveryNodeEqualsSteppingTheNetworkSequentiallyAlongItsPath()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var levels = PpoFixtures.Train(5, 12);
        var level = new IEnvironment<MazeState>[3];
        var states = new MazeState[3];
        for (var i = 0; i < 3; i++)
        {
            level[i] = levels.Level(100 + i);
            states[i] = level[i].Initial;
            // Some steps in, so roots are not all at the start.
            for (var t = 0; t < i; t++)
            {
                var legal = new bool[level[i].ActionCount];
                level[i].LegalActions(states[i], legal);
                states[i] = level[i].Step(states[i], Array.IndexOf(legal, true)).Next;
            }
        }
        using var policy = ActorCritic.Create(level[0].ObservationShape, level[0].ActionCount, Tiny, seed: 7);
        using var generator = new Generator(9);
        var rootState = new RecurrentState(randn([3, policy.StateSize], generator: generator), randn([3, policy.StateSize], generator: generator).mul(0.5));
        const int simulations = 12;
        using var search = new PolicySearch<MazeState>(policy, batchSize: 4, simulations, new GumbelPolicy(), discount: 0.9f);
        var result = search.Run(level, states, [1UL, 2UL, 3UL], rootState);
        var tree = result.Tree;
        var after = search.RootStates();
        var (o, a) = (policy.Observation, policy.Actions);
        var observation = new float[o.Size];
        var checkedNodes = 0;
        for (var b = 0; b < 3; b++)
        {
            Assert.True(tree.NodeCount(b) > 4, $"root {b} expanded only {tree.NodeCount(b)} nodes");
            for (var node = 0; node < tree.NodeCount(b); node++)
            {
                var actions = new List<int>();
                for (var n = node; n != SearchTree.RootIndex; n = tree.Parent(b, n))
                {
                    actions.Insert(0, tree.ActionFromParent(b, n));
                }
                var valid = tree.ValidActions(b, node).ToArray();
                if (!valid.Contains(true))
                {
                    continue; // a terminal node keeps the model's value, not the network's
                }
                // The reference: re-step the level along the path and the network one observation at a time.
                var state = states[b];
                var path = new List<MazeState> { state };
                foreach (var action in actions)
                {
                    state = level[b].Step(state, action).Next;
                    path.Add(state);
                }
                var carried = new RecurrentState(rootState.Hidden[b].unsqueeze(0), rootState.Cell[b].unsqueeze(0));
                PolicyOutput step = default;
                for (var t = 0; t < path.Count; t++)
                {
                    level[b].WriteObservation(path[t], observation);
                    using var noGrad = no_grad();
                    step = policy.Unroll(tensor(observation).view(1, 1, o.Channels, o.Height, o.Width), carried, zeros(1, 1));
                    carried = step.State;
                    if (t == 0 && node == SearchTree.RootIndex)
                    {
                        Assert.True(after.Hidden[b].sub(step.State.Hidden[0]).abs().max().item<float>() < 1e-5, $"root {b}: state after the root step");
                        Assert.True(after.Cell[b].sub(step.State.Cell[0]).abs().max().item<float>() < 1e-5, $"root {b}: cell after the root step");
                    }
                }
                var logits = step.Logits[0, 0].data<float>().ToArray();
                var max = Enumerable.Range(0, a).Where(i => valid[i]).Max(i => logits[i]);
                var sum = Enumerable.Range(0, a).Where(i => valid[i]).Sum(i => Math.Exp(logits[i] - max));
                var prior = tree.ChildPriorProbabilities(b, node);
                for (var i = 0; i < a; i++)
                {
                    if (valid[i])
                    {
                        Assert.True(Math.Abs(prior[i] - (Math.Exp(logits[i] - max) / sum)) < 1e-5, $"root {b} node {node} (depth {actions.Count}) action {i}: prior {prior[i]} vs {Math.Exp(logits[i] - max) / sum}");
                    }
                }
                var value = step.Values[0, 0].item<float>();
                Assert.True(Math.Abs(tree.RawValue(b, node) - value) < 1e-5, $"root {b} node {node} (depth {actions.Count}): value {tree.RawValue(b, node)} vs {value}");
                checkedNodes++;
            }
        }
        Assert.True(checkedNodes > 20, $"only {checkedNodes} nodes checked");
    }

    /// <summary>A recurrent search needs the roots' running states, and a feed-forward one refuses them.</summary>
    [Fact]
    public void RootStatesAreRequiredExactlyForARecurrentPolicy()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var level = PpoFixtures.Train(5, 12).Level(1);
        using var drc = ActorCritic.Create(level.ObservationShape, level.ActionCount, Tiny, seed: 1);
        using var cnn = ActorCritic.Create(level.ObservationShape, level.ActionCount, new PolicyOptions(PolicyKind.Cnn, 4, 16), seed: 1);
        using var recurrent = new PolicySearch<MazeState>(drc, 1, 4, new GumbelPolicy(), 0.9f);
        using var feedForward = new PolicySearch<MazeState>(cnn, 1, 4, new GumbelPolicy(), 0.9f);
        var state = level.Initial;
        Assert.Throws<ArgumentException>(() => recurrent.Run([level], [state], [1UL]));
        Assert.Throws<ArgumentException>(() => feedForward.Run([level], [state], [1UL], drc.InitialState(1)));
        Assert.Throws<InvalidOperationException>(() => feedForward.RootStates());
    }

    /// <summary>Trained on the search's targets through whole-episode unrolls, the DRC alone reaches the cheese where the untrained one never does.</summary>
    [Fact]
    public void TrainingRaisesTheRecurrentNetworkAlonesSuccess()
    {
        output.WriteLine(FormattableString.Invariant($"DRC(1,1) alone: greedy success {toy.Before:P0} before training, {toy.After:P0} after"));
        Assert.Equal(0, toy.Before);
        Assert.True(toy.After >= 0.1, $"greedy success after training {toy.After:P0} (before {toy.Before:P0})");
        Assert.All(toy.Metrics, m => Assert.True(m.Scalars[SearchTrainingMetricKeys.PolicyImprovementMin] >= -1e-5, $"iteration {m.Iteration}"));
    }

    /// <summary>The trained DRC planned with (its state carried in the tree and along the episode) beats its own greedy prior.</summary>
    [Fact]
    public void SearchWithTheRecurrentNetworkBeatsItAlone()
    {
        using var agent = new PolicySearchAgent<MazeState>(toy.Policy, lanes: 16, simulations: 64, "search", discount: 0.99f);
        var seeds = Enumerable.Range(1_000_000, 100).Select(i => (long)i).ToArray();
        var parameters = DistributionParameters.Of(("size", ToySearchTraining.Size), ("step_limit", ToySearchTraining.StepLimit));
        var search = AgentEvaluation.Evaluate(agent, PpoFixtures.Family, "maze/train", parameters, seeds, seed: 3).Summary.Success.Value;
        output.WriteLine(FormattableString.Invariant($"DRC with search at 64 simulations: {search:P0}; alone: {toy.After:P0}"));
        Assert.True(search >= toy.After + 0.1, $"search {search:P0}, network alone {toy.After:P0}");
    }

    private static string[] Lines(IEnumerable<SearchTrainingMetrics> metrics) =>
        [.. metrics.SelectMany(m => m.Scalars.Where(kv => kv.Key != SearchTrainingMetricKeys.Sps).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => FormattableString.Invariant($"{m.Iteration} {m.GlobalStep} {kv.Key} {kv.Value:R}")))];

    /// <summary>
    /// The recurrent case of the checkpoint: three iterations (episodes running, their DRC states mid-episode, whole
    /// episodes in the replay), a checkpoint through the safetensors bytes, a fresh trainer restored from it runs the last
    /// three: the same metrics and weights as six iterations straight.
    /// </summary>
    [Fact]
    public void ARestoredRecurrentTrainerContinuesAsTheUninterruptedOne()
    {
        var settings = ToySearchTraining.Settings(6, seed: 11) with { NumEnvs = 4, NumSteps = 16, TotalTimesteps = 4 * 16 * 6, Simulations = 4, MinibatchSize = 40, UpdatesPerIteration = 2 };
        var options = Tiny;
        (ActorCritic, SearchTraining<MazeState>) Create() =>
            SearchTraining.Create(PpoFixtures.Family, PpoFixtures.Train(ToySearchTraining.Size, 20), settings, options, poolSize: 256);
        var (straightPolicy, straight) = Create();
        var (firstPolicy, first) = Create();
        var (secondPolicy, second) = Create();
        using (straightPolicy)
        using (straight)
        using (firstPolicy)
        using (first)
        using (secondPolicy)
        using (second)
        {
            Assert.True(straight.Recurrent);
            var expected = Lines(straight.Train().Skip(3));
            for (var i = 0; i < 3; i++)
            {
                first.Step();
            }
            Assert.True(first.ReplayCount > 0, "the checkpoint should carry stored episodes");
            byte[] bytes;
            PpoProgress progress;
            using (NewDisposeScope())
            {
                var (tensors, captured) = first.CaptureCheckpoint();
                Assert.True(tensors["episodes.hidden"].abs().sum().item<float>() > 0, "the running states should be mid-episode (non-zero)");
                bytes = SafetensorsBytes.Encode(tensors).Bytes;
                progress = captured;
            }
            using (NewDisposeScope())
            {
                second.RestoreCheckpoint(SafetensorsBytes.Decode(bytes, "test"), progress, "test");
            }
            var resumed = Lines(second.Train());

            Assert.Equal(expected, resumed);
            Assert.All(straightPolicy.named_parameters().Zip(secondPolicy.named_parameters()), p => Assert.True(p.First.parameter.eq(p.Second.parameter).all().item<bool>(), p.First.name));
        }
    }
}
