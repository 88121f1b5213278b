using Telos.Agents;
using Telos.Environments;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;

namespace Telos.Learning.Tests.Reinforcement;

/// <summary>Tiny maze setups shared by the PPO tests.</summary>
internal static class PpoFixtures
{
    public static readonly MazeFamily Family = MazeFamily.Instance;

    /// <summary>maze/train at <paramref name="size"/> with a short step limit.</summary>
    public static ITaskDistribution<IEnumerableEnvironment<MazeState>> Train(int size, int stepLimit) =>
        Family.Distribution("maze/train", DistributionParameters.Of(("size", size), ("step_limit", stepLimit)));

    /// <summary>A policy and trainer for <paramref name="settings"/> on <paramref name="levels"/>.</summary>
    public static (ActorCritic Policy, RecurrentPpo<MazeState> Trainer) Trainer(ITaskDistribution<IEnumerableEnvironment<MazeState>> levels, PpoSettings settings, PolicyOptions options) =>
        RecurrentPpo.Create(Family, levels, settings, options, poolSize: 256);

    /// <summary>Greedy success of <paramref name="policy"/> on <paramref name="count"/> held-out levels (seeds from 1,000,000).</summary>
    public static EvaluationSummary Evaluate(ActorCritic policy, ITaskDistribution<IEnumerableEnvironment<MazeState>> levels, int size, int stepLimit, int count)
    {
        using var agent = new PolicyAgent<MazeState>(policy, lanes: 16, "ppo");
        var seeds = Enumerable.Range(1_000_000, count).Select(i => (long)i).ToArray();
        return AgentEvaluation.Evaluate(agent, Family, "maze/train", DistributionParameters.Of(("size", size), ("step_limit", stepLimit)), seeds, seed: 3).Summary;
    }

    /// <summary>Asserts equal lengths and every element within <paramref name="tolerance"/> (batched and single-row LibTorch kernels round differently).</summary>
    public static void AssertClose(float[] expected, float[] actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).DefaultIfEmpty(0).Max();
        Assert.True(worst <= tolerance, $"max difference {worst} > {tolerance}");
    }
}
