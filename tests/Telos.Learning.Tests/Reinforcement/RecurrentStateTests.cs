using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class RecurrentStateTests
{
    private static readonly PolicyOptions Small = new(ConvChannels: 4, Features: 16, LstmSize: 8);

    /// <summary>A start flag at step t makes the rest of the sequence what a fresh zero state would give from t.</summary>
    [Fact]
    public void StartFlagZeroesTheStateBeforeTheObservation()
    {
        TorchRuntime.EnsureInitialized();
        using var scope = NewDisposeScope();
        using var policy = new LstmActorCritic(new ObservationShape(3, 5, 5), 4, Small, seed: 3);
        using var generator = new Generator(9);
        var observations = rand([4, 2, 3, 5, 5], generator: generator);
        var state = new RecurrentState(randn([2, 8], generator: generator), randn([2, 8], generator: generator));
        var starts = zeros(4, 2);
        starts[2, 0] = tensor(1f);

        var whole = policy.Unroll(observations, state, starts);
        var fresh = policy.Unroll(observations.narrow(0, 2, 2), policy.InitialState(2), zeros(2, 2));

        // Environment 0 restarts at step 2: its steps 2 and 3 match a fresh start; environment 1 carries on and does not.
        Assert.Equal(fresh.Logits.select(1, 0).data<float>().ToArray(), whole.Logits.narrow(0, 2, 2).select(1, 0).contiguous().data<float>().ToArray());
        Assert.Equal(fresh.Values.select(1, 0).data<float>().ToArray(), whole.Values.narrow(0, 2, 2).select(1, 0).contiguous().data<float>().ToArray());
        Assert.NotEqual(fresh.Values.select(1, 1).data<float>().ToArray(), whole.Values.narrow(0, 2, 2).select(1, 1).contiguous().data<float>().ToArray());
    }

    /// <summary>
    /// After acting on one level, Reset leaves the lane as a fresh agent's: its state is zero again
    /// (it was not after acting). Actions are not compared: an untrained policy's carried-over state
    /// barely moves its logits, so equal actions would prove nothing.
    /// </summary>
    [Fact]
    public void AgentResetForgetsTheLastEpisode()
    {
        TorchRuntime.EnsureInitialized();
        var levels = PpoFixtures.Train(size: 5, stepLimit: 12);
        using var policy = new LstmActorCritic(new ObservationShape(3, 5, 5), 4, Small, seed: 5);
        var first = levels.Level(1);
        var second = levels.Level(2);
        using var batched = new PolicyAgent<MazeState>(policy, 2, "lanes");
        batched.Reset(1, first, 1);
        batched.Act([1], [first.Initial], new int[1]);
        Assert.Contains(batched.LaneState(1).Hidden, h => h != 0);
        batched.Reset(1, second, 2);
        Assert.All(batched.LaneState(1).Hidden, h => Assert.Equal(0f, h));
        Assert.All(batched.LaneState(1).Cell, c => Assert.Equal(0f, c));
    }

    /// <summary>Parameters carry clean names (encoder, heads, core), the prefix checkpoints, hooks and probes address them by.</summary>
    [Fact]
    public void ParametersHaveCleanNames()
    {
        TorchRuntime.EnsureInitialized();
        using var lstm = new LstmActorCritic(new ObservationShape(3, 5, 5), 4, Small, seed: 1);
        using var cnn = new CnnActorCritic(new ObservationShape(3, 5, 5), 4, Small, seed: 1);
        string[] shared = ["encoder.conv1.weight", "encoder.conv1.bias", "encoder.conv2.weight", "encoder.conv2.bias", "encoder.linear.weight", "encoder.linear.bias",
            "actor.weight", "actor.bias", "critic.weight", "critic.bias"];
        Assert.Equal([.. shared, "lstm.weight_ih", "lstm.weight_hh", "lstm.bias_ih", "lstm.bias_hh"], lstm.named_parameters().Select(p => p.name));
        Assert.Equal(shared, cnn.named_parameters().Select(p => p.name));
    }
}
