using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class DrcActorCriticTests
{
    private static readonly ObservationShape Grid = new(3, 5, 5);
    private static readonly PolicyOptions Small = new(PolicyKind.Drc, ConvChannels: 2, Features: 16, DrcLayers: 2, DrcTicks: 3, DrcChannels: 3);

    private static float[] Values(Tensor t) => t.contiguous().data<float>().ToArray();

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.shape, actual.shape);
        var difference = expected.sub(actual).abs().max().item<float>();
        Assert.True(difference <= tolerance, $"max difference {difference}");
    }

    /// <summary>Random [4, 2] observations, a random state, and starts with environment <paramref name="restart"/> beginning an episode at step 2.</summary>
    private static (Tensor Observations, RecurrentState State, Tensor Starts) RandomBlock(ActorCritic policy, ulong seed, int restart)
    {
        using var generator = new Generator(seed);
        var state = new RecurrentState(randn([2, policy.StateSize], generator: generator), randn([2, policy.StateSize], generator: generator));
        var starts = zeros(4, 2);
        starts[2, restart] = tensor(1f);
        return (rand([4, 2, 3, 5, 5], generator: generator), state, starts);
    }

    /// <summary>
    /// The architecture against a reference written out here from the saved parameters alone: the
    /// encoder map feeds every layer at every tick, layer d reads the layer below at the same tick,
    /// the bottom layer reads the top's previous tick, N ticks per step, and the heads read the top
    /// hidden map beside the encoder map. Two steps, so the carried state is checked too.
    /// </summary>
    [Fact]
    public void UnrollMatchesAReferenceWrittenFromTheParameters()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        using var policy = new DrcActorCritic(Grid, 4, Small, seed: 3);
        var p = policy.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter.detach());
        using var generator = new Generator(5);
        var observations = rand([2, 2, 3, 5, 5], generator: generator);
        var output = policy.Unroll(observations, policy.InitialState(2), ones(2, 2).mul(tensor(new float[] { 1, 0 }).unsqueeze(1)));

        var hidden = new[] { zeros(2, 3, 5, 5), zeros(2, 3, 5, 5) };
        var cell = new[] { zeros(2, 3, 5, 5), zeros(2, 3, 5, 5) };
        for (var t = 0; t < 2; t++)
        {
            var x = nn.functional.relu(nn.functional.conv2d(observations[t], p["encoder.conv1.weight"], p["encoder.conv1.bias"], padding: [1, 1]));
            x = nn.functional.relu(nn.functional.conv2d(x, p["encoder.conv2.weight"], p["encoder.conv2.bias"], padding: [1, 1]));
            for (var tick = 0; tick < 3; tick++)
            {
                for (var d = 0; d < 2; d++)
                {
                    var below = d == 0 ? hidden[1] : hidden[0];
                    var gates = nn.functional.conv2d(cat([x, below, hidden[d]], 1), p[$"drc.layer{d}.gates.weight"], p[$"drc.layer{d}.gates.bias"], padding: [1, 1]).chunk(4, 1);
                    cell[d] = gates[1].sigmoid() * cell[d] + gates[0].sigmoid() * gates[2].tanh();
                    hidden[d] = gates[3].sigmoid() * cell[d].tanh();
                }
            }
            var features = nn.functional.relu(nn.functional.linear(cat([hidden[1].flatten(1), x.flatten(1)], 1), p["drc.output.weight"], p["drc.output.bias"]));
            AssertClose(nn.functional.linear(features, p["actor.weight"], p["actor.bias"]), output.Logits[t]);
            AssertClose(nn.functional.linear(features, p["critic.weight"], p["critic.bias"]).squeeze(1), output.Values[t]);
        }
        AssertClose(stack(hidden, 1).flatten(1), output.State.Hidden);
        AssertClose(stack(cell, 1).flatten(1), output.State.Cell);
    }

    /// <summary>Unrolling T steps at once equals T single-step calls that carry the state, starts included.</summary>
    [Fact]
    public void UnrollEqualsStepByStep()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        using var policy = new DrcActorCritic(Grid, 4, Small, seed: 4);
        var (observations, state, starts) = RandomBlock(policy, seed: 6, restart: 1);

        var whole = policy.Unroll(observations, state, starts);
        var carried = state;
        for (var t = 0; t < 4; t++)
        {
            var one = policy.Unroll(observations.narrow(0, t, 1), carried, starts.narrow(0, t, 1));
            AssertClose(whole.Logits[t], one.Logits[0]);
            AssertClose(whole.Values[t], one.Values[0]);
            carried = one.State;
        }
        AssertClose(whole.State.Hidden, carried.Hidden);
        AssertClose(whole.State.Cell, carried.Cell);
        Assert.Equal(2L * 3 * 5 * 5, policy.StateSize);
    }

    /// <summary>A start flag zeroes every layer's hidden and cell map before the observation: the rest of the sequence is a fresh start's.</summary>
    [Fact]
    public void StartFlagZeroesEveryLayer()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        using var policy = new DrcActorCritic(Grid, 4, Small, seed: 3);
        var (observations, state, starts) = RandomBlock(policy, seed: 9, restart: 0);

        var whole = policy.Unroll(observations, state, starts);
        var fresh = policy.Unroll(observations.narrow(0, 2, 2), policy.InitialState(2), zeros(2, 2));

        // Equal to float rounding, not in every bit: LibTorch's convolutions may pick another kernel for 8 grids than for 4
        // (seen on an AVX-512 machine: differences of 1e-9). Sequence 1, which does not restart, differs by far more.
        AssertClose(fresh.Logits.select(1, 0), whole.Logits.narrow(0, 2, 2).select(1, 0), tolerance: 1e-6);
        var carried = fresh.Values.select(1, 1).sub(whole.Values.narrow(0, 2, 2).select(1, 1)).abs().max().item<float>();
        Assert.True(carried > 1e-4, $"the sequence without a start differs from a fresh one by only {carried}");
    }

    /// <summary>Parameters carry clean names and come from the seed: the same seed gives the same weights, another seed others.</summary>
    [Fact]
    public void ParametersHaveCleanNamesAndComeFromTheSeed()
    {
        TorchRuntime.EnsureInitialized();
        using var drc = new DrcActorCritic(Grid, 4, Small, seed: 1);
        using var again = (DrcActorCritic)ActorCritic.Create(Grid, 4, Small, seed: 1);
        using var other = new DrcActorCritic(Grid, 4, Small, seed: 2);
        Assert.Equal(
            ["encoder.conv1.weight", "encoder.conv1.bias", "encoder.conv2.weight", "encoder.conv2.bias", "actor.weight", "actor.bias", "critic.weight", "critic.bias",
                "drc.layer0.gates.weight", "drc.layer0.gates.bias", "drc.layer1.gates.weight", "drc.layer1.gates.bias", "drc.output.weight", "drc.output.bias"],
            drc.named_parameters().Select(p => p.name));
        static float[] All(ActorCritic policy) => [.. policy.parameters().SelectMany(p => p.detach().contiguous().data<float>().ToArray())];
        Assert.Equal(All(drc), All(again));
        Assert.NotEqual(All(drc), All(other));
    }

    /// <summary>DRC goes through the trainer: with one epoch of one minibatch the recomputed log-probabilities equal the rollout's (approx_kl 0), also from the non-zero state of the second rollout.</summary>
    [Fact]
    public void TrainerRecomputesDrcStates()
    {
        var levels = PpoFixtures.Train(size: 5, stepLimit: 6);
        var settings = new PpoSettings { Seed = 2, NumEnvs = 4, NumSteps = 8, TotalTimesteps = 4 * 8 * 2, NumMinibatches = 1, UpdateEpochs = 1, LearningRate = 0.05 };
        var (policy, trainer) = PpoFixtures.Trainer(levels, settings, Small);
        using (policy)
        using (trainer)
        {
            var metrics = trainer.Train();
            Assert.IsType<DrcActorCritic>(policy);
            Assert.Equal(2, metrics.Count);
            foreach (var m in metrics)
            {
                Assert.InRange(m.Scalars[PpoMetricKeys.ApproxKl], -1e-6, 1e-6);
                Assert.Equal(0, m.Scalars[PpoMetricKeys.ClipFrac]);
            }
        }
    }

    /// <summary>Reset zeroes a DRC lane's whole state (every layer), which acting had made non-zero.</summary>
    [Fact]
    public void AgentResetZeroesTheLanesMaps()
    {
        TorchRuntime.EnsureInitialized();
        var levels = PpoFixtures.Train(size: 5, stepLimit: 12);
        using var policy = new DrcActorCritic(Grid, 4, Small, seed: 5);
        using var agent = new PolicyAgent<MazeState>(policy, 2, "drc");
        var first = levels.Level(1);
        agent.Reset(1, first, 1);
        agent.Act([1], [first.Initial], new int[1]);
        Assert.Contains(agent.LaneState(1).Cell, c => c != 0);
        agent.Reset(1, levels.Level(2), 2);
        Assert.All(agent.LaneState(1).Hidden, h => Assert.Equal(0f, h));
        Assert.All(agent.LaneState(1).Cell, c => Assert.Equal(0f, c));
    }
}
