using Telos.Agents;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using Telos.Randomness;

namespace Telos.Learning.Tests.Reinforcement;

/// <summary>Tiny maze setups shared by the PPO tests.</summary>
internal static class PpoFixtures
{
    public static readonly MazeFamily Family = MazeFamily.Instance;

    /// <summary>maze/train at <paramref name="size"/> with a short step limit.</summary>
    public static ITaskDistribution<IEnumerableEnvironment<MazeState>> Train(int size, int stepLimit) =>
        Family.Distribution("maze/train", DistributionParameters.Of(("size", size), ("step_limit", stepLimit)));

    /// <summary>A policy and trainer for <paramref name="settings"/> on <paramref name="levels"/>.</summary>
    public static (ActorCritic Policy, RecurrentPpo<MazeState> Trainer) Trainer(ITaskDistribution<IEnumerableEnvironment<MazeState>> levels, PpoSettings settings, PolicyOptions options)
    {
        TorchRuntime.EnsureInitialized();
        var envs = Family.Batch(levels, settings.NumEnvs, Seeds.Derive(settings.Seed, "ppo/envs"), encodeObservations: true, poolSize: 256);
        var policy = Policies.Create(envs.ObservationShape, envs.ActionCount, options, Seeds.Derive(settings.Seed, "ppo/policy"));
        return (policy, new RecurrentPpo<MazeState>(envs, policy, settings));
    }

    /// <summary>Greedy success of <paramref name="policy"/> on <paramref name="count"/> held-out levels (seeds from 1,000,000).</summary>
    public static EvaluationSummary Evaluate(ActorCritic policy, ITaskDistribution<IEnumerableEnvironment<MazeState>> levels, int size, int stepLimit, int count)
    {
        using var agent = new PolicyAgent<MazeState>(policy, lanes: 16, "ppo");
        var seeds = Enumerable.Range(1_000_000, count).Select(i => (long)i).ToArray();
        return AgentEvaluation.Evaluate(agent, Family, "maze/train", DistributionParameters.Of(("size", size), ("step_limit", stepLimit)), seeds, seed: 3).Summary;
    }
}
