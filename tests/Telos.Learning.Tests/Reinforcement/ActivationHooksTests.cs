using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class ActivationHooksTests
{
    private static readonly ObservationShape Grid = new(3, 5, 5);
    private static readonly PolicyOptions Small = new(ConvChannels: 2, Features: 16, LstmSize: 8, DrcLayers: 2, DrcTicks: 2, DrcChannels: 3);

    private static float[] Values(Tensor t) => t.contiguous().data<float>().ToArray();

    /// <summary>Every policy lists its hook points by name, in forward order, with each sample's shape.</summary>
    [Fact]
    public void PoliciesNameTheirHookPoints()
    {
        TorchRuntime.EnsureInitialized();
        using var lstm = ActorCritic.Create(Grid, 4, Small, 1);
        using var cnn = ActorCritic.Create(Grid, 4, Small with { Kind = PolicyKind.Cnn }, 1);
        using var drc = ActorCritic.Create(Grid, 4, Small with { Kind = PolicyKind.Drc }, 1);
        static string[] Describe(ActorCritic p) => [.. p.HookPoints.Select(h => $"{h.Name} [{string.Join(",", h.Shape)}]")];
        Assert.Equal(["encoder.conv1 [2,5,5]", "encoder.conv2 [4,5,5]", "encoder.linear [16]", "lstm.cell [8]", "lstm.hidden [8]"], Describe(lstm));
        Assert.Equal(["encoder.conv1 [2,5,5]", "encoder.conv2 [4,5,5]", "encoder.linear [16]"], Describe(cnn));
        Assert.Equal(["encoder.conv1 [2,5,5]", "encoder.conv2 [4,5,5]", "drc.layer0.cell [3,5,5]", "drc.layer0.hidden [3,5,5]", "drc.layer1.cell [3,5,5]", "drc.layer1.hidden [3,5,5]"], Describe(drc));
    }

    /// <summary>Hooks with nothing set, or set on other points, leave the output bit for bit as without hooks.</summary>
    [Fact]
    public void HooksWithoutEditsChangeNothing()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        using var policy = ActorCritic.Create(Grid, 4, Small with { Kind = PolicyKind.Drc }, 2);
        using var generator = new Generator(3);
        var observations = rand([3, 2, 3, 5, 5], generator: generator);
        var plain = policy.Unroll(observations, policy.InitialState(2), zeros(3, 2));
        using var hooks = new ActivationHooks(policy).Record("drc.layer1.hidden").Record("encoder.conv1");
        policy.Hooks = hooks;
        var hooked = policy.Unroll(observations, policy.InitialState(2), zeros(3, 2));
        policy.Hooks = null;
        Assert.Equal(Values(plain.Logits), Values(hooked.Logits));
        Assert.Equal(Values(plain.State.Hidden), Values(hooked.State.Hidden));
        // The record is the last firing: the top layer's hidden map after the last tick of the last step, the state's second half.
        Assert.Equal(Values(plain.State.Hidden.narrow(1, 75, 75)), Values(hooks.Recorded("drc.layer1.hidden")!.flatten(1)));
        Assert.Equal([6L, 2, 5, 5], hooks.Recorded("encoder.conv1")!.shape);
    }

    /// <summary>Steering the CNN's encoder output by s·v shifts its logits by exactly s·W_actor·v (the heads are linear in it).</summary>
    [Fact]
    public void SteeringAddsTheScaledVector()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        using var policy = ActorCritic.Create(Grid, 4, Small with { Kind = PolicyKind.Cnn }, 4);
        using var generator = new Generator(5);
        var observations = rand([1, 3, 3, 5, 5], generator: generator);
        var vector = randn([16], generator: generator);
        var plain = policy.Unroll(observations, policy.InitialState(3), ones(1, 3)).Logits;
        using var hooks = new ActivationHooks(policy).Steer(GridEncoder.LinearPoint, vector, -2);
        policy.Hooks = hooks;
        var steered = policy.Unroll(observations, policy.InitialState(3), ones(1, 3)).Logits;
        policy.Hooks = null;
        var actor = policy.named_parameters().Single(p => p.name == "actor.weight").parameter.detach();
        var expected = plain.add(actor.matmul(vector).mul(-2));
        Assert.True(expected.sub(steered).abs().max().item<float>() < 1e-5);
        Assert.True(steered.sub(plain).abs().max().item<float>() > 1e-3);
    }

    /// <summary>A clamp sets one channel at one cell, at every tick, and leaves the rest of the map as the network computes it.</summary>
    [Fact]
    public void ClampSetsOneChannelAtOneCell()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        using var policy = ActorCritic.Create(Grid, 4, Small with { Kind = PolicyKind.Drc }, 6);
        using var generator = new Generator(7);
        var observations = rand([2, 1, 3, 5, 5], generator: generator);
        var point = DrcActorCritic.HiddenPoint(0);
        using var free = new ActivationHooks(policy).Record(point);
        policy.Hooks = free;
        var plain = policy.Unroll(observations, policy.InitialState(1), zeros(2, 1));
        using var clamped = new ActivationHooks(policy).Clamp(point, 1, 2, 3, 5.5f).Record(point);
        policy.Hooks = clamped;
        var edited = policy.Unroll(observations, policy.InitialState(1), zeros(2, 1));
        policy.Hooks = null;
        var map = clamped.Recorded(point)!;
        Assert.Equal(5.5f, map[0, 1, 2, 3].item<float>());
        // Layer 0 at (1, 2, 3) is 5.5 in the state too; the untouched channel 0 differs from the free run only through the recurrence.
        Assert.Equal(5.5f, edited.State.Hidden[0, 1 * 25 + 2 * 5 + 3].item<float>());
        Assert.NotEqual(5.5f, free.Recorded(point)![0, 1, 2, 3].item<float>());
        Assert.NotEqual(Values(plain.Logits), Values(edited.Logits));
    }

    /// <summary>Bad requests are one clear error each.</summary>
    [Fact]
    public void BadRequestsAreRefused()
    {
        TorchRuntime.EnsureInitialized();
        using var policy = ActorCritic.Create(Grid, 4, Small, 1);
        using var other = ActorCritic.Create(Grid, 4, Small, 2);
        using var hooks = new ActivationHooks(policy);
        Assert.Contains("unknown hook point 'lstm.hiden'", Assert.Throws<TelosInputException>(() => hooks.Record("lstm.hiden")).Message, StringComparison.Ordinal);
        Assert.Contains("not spatial", Assert.Throws<TelosInputException>(() => hooks.Clamp("lstm.hidden", 0, 0, 0, 1)).Message, StringComparison.Ordinal);
        Assert.Contains("outside", Assert.Throws<TelosInputException>(() => hooks.Clamp("encoder.conv1", 2, 0, 0, 1)).Message, StringComparison.Ordinal);
        using var wrong = zeros(7);
        Assert.Contains("7 elements", Assert.Throws<TelosInputException>(() => hooks.Steer("lstm.hidden", wrong)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => other.Hooks = hooks);
    }

    /// <summary>Recording an episode through the agent keeps, before each action, the activation the policy computed on that step's observation after the episode so far.</summary>
    [Fact]
    public void EpisodeRecordingMatchesAnUnrollOfTheEpisode()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        using var policy = ActorCritic.Create(Grid, 4, Small, 8);
        var level = PpoFixtures.Train(size: 5, stepLimit: 9).Level(4);
        using var hooks = new ActivationHooks(policy).Record(LstmActorCritic.HiddenPoint);
        var recorded = EpisodeActivations.Record(hooks, level, 1, greedy: false);
        var rows = recorded.Activations[LstmActorCritic.HiddenPoint];
        var episode = recorded.Episode;
        Assert.Equal(episode.Steps, rows.Length);
        Assert.Null(policy.Hooks);

        var buffer = new float[episode.Steps * Grid.Size];
        for (var t = 0; t < episode.Steps; t++)
        {
            level.WriteObservation(episode.States[t], buffer.AsSpan(t * Grid.Size, Grid.Size));
        }
        var starts = zeros(episode.Steps, 1);
        starts[0, 0] = tensor(1f);
        for (var t = 0; t < episode.Steps; t++)
        {
            // Step by step from the replayed state, comparing each step's record.
            var prefix = tensor(buffer).view(episode.Steps, 1, 3, 5, 5).narrow(0, 0, t + 1);
            var hidden = policy.Unroll(prefix, policy.InitialState(1), starts.narrow(0, 0, t + 1)).State.Hidden;
            PpoFixtures.AssertClose(Values(hidden[0]), rows[t]);
        }
    }

    /// <summary>A cheese pair is one observation twice, the cheese channel cleared in the second.</summary>
    [Fact]
    public void CheesePairsDifferOnlyInTheCheese()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        var levels = PpoFixtures.Family.Distribution("maze/test", DistributionParameters.Of(("size", 5)));
        var mazes = new[] { (Maze)levels.Level(1), (Maze)levels.Level(2) };
        var (with, without) = GoalVector.CheesePairs(mazes);
        Assert.Equal([2L, 3, 5, 5], with.shape);
        Assert.Equal(1f, with[1, Maze.CheeseChannel, mazes[1].Cheese / 5, mazes[1].Cheese % 5].item<float>());
        Assert.Equal(0f, without.select(1, Maze.CheeseChannel).abs().sum().item<float>());
        Assert.Equal(Values(with.narrow(1, 0, 2)), Values(without.narrow(1, 0, 2)));
    }
}
