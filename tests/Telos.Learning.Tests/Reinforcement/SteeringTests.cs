using Telos.Agents;
using Telos.Environments;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Learning.Reinforcement.Policies;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Telos.Learning.Tests.Reinforcement;

/// <summary>
/// A small agent trained inside the test: the feed-forward CNN, 50 PPO iterations of 16 × 64 steps
/// on 5×5 maze/test (the cheese anywhere, 30-step limit), so its behaviour depends on where the
/// cheese is. Shared by the steering and clamping tests.
/// </summary>
public sealed class CheeseSeekingAgent : IDisposable
{
    public static readonly DistributionParameters Parameters = DistributionParameters.Of(("size", 5), ("step_limit", 30));

    public CheeseSeekingAgent()
    {
        var levels = PpoFixtures.Family.Distribution("maze/test", Parameters);
        var settings = new PpoSettings
        {
            Seed = 1, NumEnvs = 16, NumSteps = 64, TotalTimesteps = 16 * 64 * 50, NumMinibatches = 4, UpdateEpochs = 8, LearningRate = 2.5e-3, ClipCoef = 0.2,
        };
        var (policy, trainer) = PpoFixtures.Trainer(levels, settings, new PolicyOptions(PolicyKind.Cnn, ConvChannels: 8, Features: 64));
        using (trainer)
        {
            trainer.Train();
        }
        Policy = policy;
        Levels = [.. Enumerable.Range(2_000_000, 80).Select(i => (Maze)levels.Level(i))];
    }

    public ActorCritic Policy { get; }

    /// <summary>Held-out levels (not in the training pool's seeds).</summary>
    public IReadOnlyList<Maze> Levels { get; }

    public void Dispose() => Policy.Dispose();
}

public sealed class SteeringTests(CheeseSeekingAgent agent, ITestOutputHelper output) : IClassFixture<CheeseSeekingAgent>
{
    /// <summary>
    /// Turner et al.'s intervention: subtracting, on each maze, the cheese vector of that maze
    /// (activation with the cheese minus without, at <c>encoder.conv1</c>) makes the agent reach the
    /// cheese on clearly fewer mazes than it does unsteered (e.g. 40 % of them fewer) — and adding it
    /// does not have that effect.
    /// </summary>
    [Fact]
    public void SubtractingTheCheeseVectorLowersTheRateOfReachingCheese()
    {
        int free = 0, subtracted = 0, added = 0;
        foreach (var maze in agent.Levels)
        {
            using var scope = NewDisposeScope();
            var (with, without) = GoalVector.CheesePairs([maze]);
            var cheese = GoalVector.MeanDifference(agent.Policy, GridEncoder.Conv1Point, with, without);
            using var none = new ActivationHooks(agent.Policy);
            using var minus = new ActivationHooks(agent.Policy).Steer(GridEncoder.Conv1Point, cheese, -1);
            using var plus = new ActivationHooks(agent.Policy).Steer(GridEncoder.Conv1Point, cheese, 1);
            free += EpisodeActivations.Record(none, maze, 1).Episode.Terminated ? 1 : 0;
            subtracted += EpisodeActivations.Record(minus, maze, 1).Episode.Terminated ? 1 : 0;
            added += EpisodeActivations.Record(plus, maze, 1).Episode.Terminated ? 1 : 0;
        }
        var n = agent.Levels.Count;
        output.WriteLine($"cheese reached on {free}/{n} mazes unsteered, {subtracted}/{n} with the cheese vector subtracted, {added}/{n} added");
        Assert.True(free >= n / 3, $"the trained agent reaches the cheese on only {free}/{n}");
        Assert.True(subtracted <= free - n / 8, $"cheese reached: {subtracted}/{n} with the cheese vector subtracted, {free}/{n} without steering");
        Assert.True(added > subtracted, $"cheese reached: {added}/{n} with the vector added, {subtracted}/{n} subtracted");
    }

    /// <summary>
    /// Turner et al.'s retargeting: clamping the <c>encoder.conv1</c> channel that responds most to the
    /// cheese (the largest cheese-vector entry at the cheese's cell, summed over mazes) to a high value
    /// at a target cell — the open cell farthest from the cheese — makes the agent visit the target on
    /// clearly more mazes than unclamped.
    /// </summary>
    [Fact]
    public void ClampingACheeseChannelDrawsTheAgentToTheClampedCell()
    {
        var policy = agent.Policy;
        var channels = (int)policy.HookPoints[0].Shape[0];
        var response = new double[channels];
        foreach (var maze in agent.Levels)
        {
            using var scope = NewDisposeScope();
            var (with, without) = GoalVector.CheesePairs([maze]);
            var cheese = GoalVector.MeanDifference(policy, GridEncoder.Conv1Point, with, without);
            for (var c = 0; c < channels; c++)
            {
                response[c] += cheese[c, maze.Cheese / maze.Size, maze.Cheese % maze.Size].item<float>();
            }
        }
        var channel = Array.IndexOf(response, response.Max());

        int free = 0, clamped = 0;
        foreach (var maze in agent.Levels)
        {
            var target = Enumerable.Range(0, maze.Size * maze.Size).Where(c => maze.IsOpen(c) && c != maze.Start).MaxBy(maze.PathDistanceToCheese);
            using var none = new ActivationHooks(policy);
            using var clamp = new ActivationHooks(policy).Clamp(GridEncoder.Conv1Point, channel, target / maze.Size, target % maze.Size, 5.5f);
            free += EpisodeActivations.Record(none, maze, 1).Episode.States.Any(s => s.Cell == target) ? 1 : 0;
            clamped += EpisodeActivations.Record(clamp, maze, 1).Episode.States.Any(s => s.Cell == target) ? 1 : 0;
        }
        var n = agent.Levels.Count;
        output.WriteLine($"target visited on {free}/{n} mazes unclamped, {clamped}/{n} with channel {channel} clamped to 5.5 there");
        Assert.True(clamped >= free + n / 8, $"target visited on {clamped}/{n} mazes with channel {channel} clamped there, {free}/{n} unclamped");
    }

    /// <summary>The agent's evaluation through the batched path sees the same steering as the recorder: hooks act on every forward pass.</summary>
    [Fact]
    public void SteeringActsThroughTheEvaluationPath()
    {
        var seeds = Enumerable.Range(2_000_000, 80).Select(i => (long)i).ToArray();
        EvaluationSummary Evaluate()
        {
            using var lanes = new PolicyAgent<MazeState>(agent.Policy, 8, "ppo");
            return AgentEvaluation.Evaluate(lanes, PpoFixtures.Family, "maze/test", CheeseSeekingAgent.Parameters, seeds, 1).Summary;
        }
        using var scope = NewDisposeScope();
        var (with, without) = GoalVector.CheesePairs(agent.Levels);
        var cheese = GoalVector.MeanDifference(agent.Policy, GridEncoder.LinearPoint, with, without);
        var free = Evaluate();
        using var hooks = new ActivationHooks(agent.Policy).Steer(GridEncoder.LinearPoint, cheese, -3);
        agent.Policy.Hooks = hooks;
        EvaluationSummary steered;
        try
        {
            steered = Evaluate();
        }
        finally
        {
            agent.Policy.Hooks = null;
        }
        Assert.NotEqual(free.MeanSteps, steered.MeanSteps);
        Assert.Equal(free.MeanSteps, Evaluate().MeanSteps);
    }
}
