using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

public sealed class ThinkingStepsTests
{
    private static readonly ObservationShape Grid = new(3, 5, 5);

    /// <summary>The state <paramref name="policy"/> reaches from zero on <paramref name="sequence"/> (observations of one lane), as [S] hidden values.</summary>
    private static float[] StateAfter(ActorCritic policy, IEnvironment<MazeState> level, params MazeState[] sequence)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var buffer = new float[sequence.Length * Grid.Size];
        for (var i = 0; i < sequence.Length; i++)
        {
            level.WriteObservation(sequence[i], buffer.AsSpan(i * Grid.Size, Grid.Size));
        }
        var observations = tensor(buffer).view(sequence.Length, 1, 3, 5, 5);
        var starts = zeros(sequence.Length, 1);
        starts[0, 0] = tensor(1f);
        return policy.Unroll(observations, policy.InitialState(1), starts).State.Hidden[0].data<float>().ToArray();
    }

    /// <summary>
    /// With K thinking steps, the state the first action is chosen from is K + 1 steps on the first
    /// observation; the second step adds one step only (thinking happens once per episode), and a
    /// Reset thinks again. For the LSTM (one tick a step) and DRC (N ticks a step).
    /// </summary>
    [Theory]
    [InlineData(PolicyKind.Lstm)]
    [InlineData(PolicyKind.Drc)]
    public void ThinkingChangesOnlyTheStateBeforeTheFirstAction(PolicyKind kind)
    {
        TorchRuntime.EnsureInitialized();
        var options = new PolicyOptions(kind, ConvChannels: 2, Features: 16, LstmSize: 8, DrcLayers: 2, DrcTicks: 2, DrcChannels: 2);
        using var policy = ActorCritic.Create(Grid, 4, options, seed: 7);
        var level = PpoFixtures.Train(size: 5, stepLimit: 20).Level(3);
        var start = level.Initial;
        using var thinker = new PolicyAgent<MazeState>(policy, 1, "thinking", thinkingSteps: 3);
        using var plain = new PolicyAgent<MazeState>(policy, 1, "plain");
        var action = new int[1];

        thinker.Reset(0, level, 1);
        plain.Reset(0, level, 1);
        thinker.Act([0], [start], action);
        plain.Act([0], [start], new int[1]);
        PpoFixtures.AssertClose(StateAfter(policy, level, start, start, start, start), thinker.LaneState(0).Hidden);
        PpoFixtures.AssertClose(StateAfter(policy, level, start), plain.LaneState(0).Hidden);
        var change = plain.LaneState(0).Hidden.Zip(thinker.LaneState(0).Hidden, (p, t) => Math.Abs(p - t)).Max();
        Assert.True(change > 1e-3, $"thinking moved the state by only {change}");

        var next = level.Step(start, action[0]).Next;
        thinker.Act([0], [next], action);
        PpoFixtures.AssertClose(StateAfter(policy, level, start, start, start, start, next), thinker.LaneState(0).Hidden);

        thinker.Reset(0, level, 1);
        thinker.Act([0], [start], action);
        PpoFixtures.AssertClose(StateAfter(policy, level, start, start, start, start), thinker.LaneState(0).Hidden);
    }

    /// <summary>Lanes that start an episode think while lanes mid-episode in the same call do not.</summary>
    [Fact]
    public void OnlyLanesStartingAnEpisodeThink()
    {
        TorchRuntime.EnsureInitialized();
        using var policy = new LstmActorCritic(Grid, 4, new PolicyOptions(ConvChannels: 2, Features: 16, LstmSize: 8), seed: 8);
        var levels = PpoFixtures.Train(size: 5, stepLimit: 20);
        var (first, second) = (levels.Level(1), levels.Level(2));
        using var agent = new PolicyAgent<MazeState>(policy, 2, "thinking", thinkingSteps: 2);
        var actions = new int[2];
        agent.Reset(0, first, 1);
        agent.Act([0], [first.Initial], actions);
        var moved = first.Step(first.Initial, actions[0]).Next;
        agent.Reset(1, second, 2);
        agent.Act([0, 1], [moved, second.Initial], actions);
        PpoFixtures.AssertClose(StateAfter(policy, first, first.Initial, first.Initial, first.Initial, moved), agent.LaneState(0).Hidden);
        PpoFixtures.AssertClose(StateAfter(policy, second, second.Initial, second.Initial, second.Initial), agent.LaneState(1).Hidden);
    }

    /// <summary>A feed-forward policy has no state to think with: the same actions with and without thinking steps, episode after episode.</summary>
    [Fact]
    public void ThinkingIsANoOpForTheCnn()
    {
        TorchRuntime.EnsureInitialized();
        using var policy = new CnnActorCritic(Grid, 4, new PolicyOptions(PolicyKind.Cnn, ConvChannels: 2, Features: 16), seed: 9);
        var parameters = DistributionParameters.Of(("size", 5), ("step_limit", 15));
        var seeds = Enumerable.Range(0, 12).Select(i => (long)i).ToArray();
        using var plain = new PolicyAgent<MazeState>(policy, 4, "plain", greedy: false);
        using var thinker = new PolicyAgent<MazeState>(policy, 4, "thinking", greedy: false, thinkingSteps: 4);
        var a = Telos.Agents.AgentEvaluation.Evaluate(plain, MazeFamily.Instance, "maze/test", parameters, seeds, 5, new Telos.Agents.EvaluationOptions { KeepEpisodes = true });
        var b = Telos.Agents.AgentEvaluation.Evaluate(thinker, MazeFamily.Instance, "maze/test", parameters, seeds, 5, new Telos.Agents.EvaluationOptions { KeepEpisodes = true });
        Assert.Equal(a.Episodes!.SelectMany(e => e.Actions), b.Episodes!.SelectMany(e => e.Actions));
        Assert.Empty(thinker.LaneState(0).Hidden);
    }
}
