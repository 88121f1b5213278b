using System.Diagnostics;
using System.Globalization;
using Telos.Environments;
using Telos.Lab.Evaluation;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using Telos.Randomness;

namespace Telos.Lab.Control;

/// <summary>Settings of <see cref="PolicyFineTuning"/>.</summary>
/// <param name="Budgets">The label budgets k the policy is matched to (0: the policy unchanged).</param>
/// <param name="StepsPerLabel">Environment steps of shifted experience per label: 1 is the matched amount (one state with its true reward per label); the step limit gives one episode's worth per label.</param>
/// <param name="Ppo">The fine-tuning's PPO hyperparameters (learning rate, epochs, clipping, coefficients); its environments, steps and seed are set per budget.</param>
/// <param name="Seed">Seeds the fine-tuning's environments, action sampling and minibatches (one stream per budget).</param>
public sealed record FineTuneSettings(IReadOnlyList<int> Budgets, int StepsPerLabel, PpoSettings Ppo, ulong Seed);

/// <summary>
/// Control at matched cost, the learned optimizer's side: the policy fine-tuned by PPO on experience of
/// the shifted distribution (its own reward is the true reward), for each k of the label budget.
/// <para><b>The fairest equivalent amount.</b> A goal label is one state of the shifted distribution
/// with its true reward. One environment step gives the policy exactly that — one state it reached and
/// the true reward for arriving there — and more besides (the transition, its own action's
/// consequence). So k labels ↔ k·<see cref="FineTuneSettings.StepsPerLabel"/> environment steps,
/// with <c>StepsPerLabel = 1</c> the matched amount; a larger value (the step limit: an episode per
/// label) is a deliberately generous variant. The labels are drawn uniformly over states, the policy's
/// steps from where it goes — the cost of each (states shown their true value) is what is matched.</para>
/// <para>The k steps are one PPO rollout from E = gcd(k·StepsPerLabel, Ppo.NumEnvs) environments of
/// T = k·StepsPerLabel / E steps, then Ppo.UpdateEpochs epochs of the update over gcd(E, Ppo.NumMinibatches)
/// minibatches (one when a minibatch would hold a single transition; advantages are not normalized
/// when the whole budget is one step), starting from a copy of
/// the policy (the caller's policy is not changed). The fine-tuning's levels come from its own seed,
/// not from the evaluation's level seeds.</para>
/// </summary>
public static class PolicyFineTuning
{
    /// <summary>The variant name of the rows.</summary>
    public const string Variant = "policy fine-tune";

    /// <summary>
    /// The policy's k-curve: for each k, a copy fine-tuned on k·StepsPerLabel steps of
    /// <paramref name="levels"/>' shifted distribution, measured greedily on both distributions.
    /// </summary>
    /// <param name="family">The environment family.</param>
    /// <param name="agent">The agent's name in the rows.</param>
    /// <param name="policy">The trained policy (not changed).</param>
    /// <param name="levels">Where to measure; the fine-tuning runs on its <see cref="AnalysisLevels.Test"/> distribution.</param>
    /// <param name="settings">Budgets, steps per label, PPO settings, seed.</param>
    /// <returns>Rows by k, then distribution (training first).</returns>
    /// <exception cref="TelosInputException">Bad budgets or settings.</exception>
    public static IReadOnlyList<CurvePoint> Run<TState>(IEnvironmentFamily<TState> family, string agent, ActorCritic policy, AnalysisLevels levels, FineTuneSettings settings)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Budgets.Count == 0 || settings.Budgets.Any(k => k < 0) || settings.StepsPerLabel < 1)
        {
            throw new TelosInputException($"fine-tuning budgets must be ≥ 0 and steps per label ≥ 1, got [{string.Join(", ", settings.Budgets)}] and {settings.StepsPerLabel}");
        }
        var shifted = family.Distribution(levels.Test, levels.Parameters);
        var rows = new List<CurvePoint>();
        foreach (var k in settings.Budgets)
        {
            if (k == 0)
            {
                rows.AddRange(Measure(family, agent, policy, levels, 0, OperationCost.None));
                continue;
            }
            var steps = k * settings.StepsPerLabel;
            var envs = (int)Gcd(steps, settings.Ppo.NumEnvs);
            var minibatches = (int)Gcd(envs, settings.Ppo.NumMinibatches);
            // Advantages are normalized within a minibatch: it needs two transitions at least.
            minibatches = steps / minibatches >= 2 ? minibatches : 1;
            var ppo = settings.Ppo with
            {
                Seed = Seeds.Derive(settings.Seed, "control/fine-tune/" + k.ToString(CultureInfo.InvariantCulture)),
                NumEnvs = envs,
                NumSteps = steps / envs,
                TotalTimesteps = steps,
                NumMinibatches = minibatches,
                NormAdv = settings.Ppo.NormAdv && steps >= 2,
            };
            using var copy = policy.Copy();
            var clock = Stopwatch.StartNew();
            var environments = family.Batch(shifted, ppo.NumEnvs, Seeds.Derive(ppo.Seed, "ppo/envs"), encodeObservations: true);
            using (var trainer = new RecurrentPpo<TState>(environments, copy, ppo))
            {
                trainer.Train();
            }
            var gradientSteps = (long)ppo.NumIterations * ppo.UpdateEpochs * ppo.NumMinibatches;
            var cost = new OperationCost(0, gradientSteps, steps, clock.Elapsed.TotalSeconds);
            rows.AddRange(Measure(family, agent, copy, levels, k, cost));
        }
        return rows;
    }

    private static IEnumerable<CurvePoint> Measure<TState>(IEnvironmentFamily<TState> family, string agent, ActorCritic policy, AnalysisLevels levels, int k, OperationCost cost)
        where TState : struct
    {
        using var lanes = new PolicyAgent<TState>(policy, AgentEvaluations.PolicyLanes, agent);
        return [.. levels.Evaluate(lanes, family).Select(s => new CurvePoint(agent, Variant, k, 0, 0, s with { Agent = agent }, cost, null))];
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }
        return Math.Max(1, a);
    }
}
