using System.Globalization;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Learning.Objectives;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using Telos.Planning;
using Telos.Randomness;

namespace Telos.Lab.Evaluation;

/// <summary>What <c>telos eval</c> asks for: one agent on many levels of one distribution.</summary>
/// <param name="Distribution">A registered distribution (<c>maze/test</c>).</param>
/// <param name="Parameters">Its parameters as given; for a trained policy, the ones not given are the training run's.</param>
/// <param name="Episodes">Levels, one episode each (1 to 1,000,000).</param>
/// <param name="Seed">Level seeds and episode seeds derive from it (<see cref="AgentEvaluations.LevelSeeds"/>).</param>
/// <param name="Checkpoint">A trained policy: a run id or directory (its newest checkpoint) or a checkpoint file; null for a planner.</param>
/// <param name="Planner">A hard-coded planner (<see cref="Planners.Names"/>); null for a trained policy.</param>
/// <param name="Objective">The planner's objective: a card file or a reference objective of the family.</param>
/// <param name="Budget">The planner's budget (its seed is replaced by the evaluation's).</param>
/// <param name="ThinkingSteps">A trained policy's extra recurrent steps on each episode's first observation before its first action (0 to 1000; <see cref="PolicyAgent{TState}.ThinkingSteps"/>).</param>
/// <param name="Sampled">A trained policy samples its actions (from each episode's own seeded stream) instead of taking the argmax.</param>
public sealed record EvaluationRequest(string Distribution, DistributionParameters Parameters, int Episodes, ulong Seed, string? Checkpoint, string? Planner, string Objective = "true",
    PlanBudget Budget = default, int ThinkingSteps = 0, bool Sampled = false);

/// <summary>What an evaluation measured.</summary>
/// <param name="Agent">The agent's name.</param>
/// <param name="Source">The checkpoint file, or the planner's objective as given.</param>
/// <param name="Parameters">The distribution parameters used.</param>
/// <param name="Summary">Success, proxy and ceiling rates (95 % Wilson intervals), mean return and steps.</param>
/// <param name="ThinkingSteps">The policy's thinking steps (0 for a planner).</param>
/// <param name="Sampled">Whether the policy sampled its actions (false: greedy; always false for a planner).</param>
public sealed record AgentEvaluationReport(string Agent, string Source, DistributionParameters Parameters, EvaluationSummary Summary, int ThinkingSteps = 0, bool Sampled = false);

/// <summary>
/// Evaluates a trained policy or a hard-coded planner the same way, through
/// <see cref="AgentEvaluation.Evaluate{TState}(IBatchedAgent{TState}, IEnvironmentFamily{TState}, string, DistributionParameters, IReadOnlyList{long}, ulong, EvaluationOptions?)"/>:
/// level i is <c>LevelSeeds(seed, n)[i]</c>, the evaluation seed <c>Seeds.Derive(seed, "eval")</c>. The
/// <c>ppo</c> experiment's report evaluates with the run's seed, so <c>telos eval --agent RUN --seed
/// SEED --episodes EVAL_EPISODES</c> reproduces its numbers.
/// </summary>
public static class AgentEvaluations
{
    /// <summary>Greedy policy lanes run side by side.</summary>
    public const int PolicyLanes = 32;

    /// <summary>The level seeds of an evaluation of <paramref name="count"/> episodes: <c>Seeds.DeriveLong(seed, "eval/level/i")</c>.</summary>
    public static long[] LevelSeeds(ulong seed, int count) =>
        [.. Enumerable.Range(0, count).Select(i => Seeds.DeriveLong(seed, "eval/level/" + i.ToString(CultureInfo.InvariantCulture)))];

    /// <summary>Runs the request.</summary>
    /// <exception cref="TelosInputException">
    /// Unknown distribution, planner, objective, run or checkpoint; bad parameters or episode count;
    /// both or neither of a checkpoint and a planner; a policy that does not fit the distribution's levels.
    /// </exception>
    public static AgentEvaluationReport Evaluate(EvaluationRequest request, RunStore store)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(store);
        if (request.Episodes is < 1 or > 1_000_000)
        {
            throw new TelosInputException($"--episodes {request.Episodes} must be 1 to 1000000");
        }
        if ((request.Checkpoint is null) == (request.Planner is null))
        {
            throw new TelosInputException("give either --agent RUN|CHECKPOINT (a trained policy) or --planner NAME (a hard-coded agent)");
        }
        if (request.ThinkingSteps is < 0 or > 1000)
        {
            throw new TelosInputException($"--thinking-steps {request.ThinkingSteps} must be 0 to 1000");
        }
        var family = EnvironmentFamilies.Of(request.Distribution);
        if (request.Planner is not null)
        {
            if (request.ThinkingSteps != 0)
            {
                throw new TelosInputException("--thinking-steps applies to a trained policy (--agent), not to a planner");
            }
            if (request.Sampled)
            {
                throw new TelosInputException("--sample applies to a trained policy (--agent), not to a planner");
            }
            return family.Accept(new PlannerEvaluation(request));
        }
        var checkpoint = PolicyCheckpoints.Find(store, request.Checkpoint!);
        var (policy, metadata) = PolicyCheckpoints.Load(checkpoint);
        using (policy)
        {
            var parameters = request.Parameters;
            if (EnvironmentFamilies.Of(metadata.Env) == family)
            {
                // The training run's parameters stand in for those not given (the observations must match the policy's).
                parameters = DistributionParameters.Of([
                    .. metadata.Parameters.Where(p => request.Parameters[p.Key] is null).Select(p => (p.Key, (int?)p.Value)),
                    .. request.Parameters.Names.Select(n => (n, request.Parameters[n]))]);
            }
            var summary = family.Accept(new PolicyEvaluation(policy, metadata, checkpoint.TensorPath, request.Distribution, parameters, request.Episodes, request.Seed, request.ThinkingSteps, request.Sampled));
            return new AgentEvaluationReport(summary.Agent, checkpoint.TensorPath, parameters, summary, request.ThinkingSteps, request.Sampled);
        }
    }

    /// <summary>A policy's evaluation on <paramref name="episodes"/> levels of <paramref name="distribution"/> (the <c>ppo</c> report's and <c>telos eval</c>'s), with <paramref name="thinkingSteps"/> before each episode's first action; greedy unless <paramref name="sampled"/>.</summary>
    public static EvaluationSummary EvaluatePolicy<TState>(IEnvironmentFamily<TState> family, ActorCritic policy, PolicyOptions architecture, string distribution,
        DistributionParameters parameters, int episodes, ulong seed, int thinkingSteps = 0, bool sampled = false)
        where TState : struct =>
        RunPolicy(family, policy, architecture, distribution, parameters, LevelSeeds(seed, episodes), Seeds.Derive(seed, "eval"), thinkingSteps, sampled: sampled).Summary;

    /// <summary>
    /// The policy (greedy unless <paramref name="sampled"/>) on the levels <paramref name="levelSeeds"/> of <paramref name="distribution"/> through the one evaluation path
    /// (<see cref="PolicyAgent{TState}"/> lanes in <see cref="AgentEvaluation"/>): what <see cref="EvaluatePolicy"/> and <c>telos eval --agent</c> run,
    /// for levels the caller names. The policy runs with whatever <see cref="ActorCritic.Hooks"/> it carries (steering, clamps).
    /// </summary>
    /// <param name="family">The distribution's family.</param>
    /// <param name="policy">The trained policy (not disposed here).</param>
    /// <param name="architecture">Its kind, for the agent's name (<c>ppo-lstm</c>).</param>
    /// <param name="distribution">The distribution.</param>
    /// <param name="parameters">Its parameters.</param>
    /// <param name="levelSeeds">The levels, one episode each.</param>
    /// <param name="seed">The evaluation seed (episode seeds derive from it; a greedy policy draws nothing from them, a sampled one draws its actions).</param>
    /// <param name="thinkingSteps">Extra recurrent steps on each episode's first observation.</param>
    /// <param name="keepEpisodes">Keep every episode's states and actions.</param>
    /// <param name="sampled">Sample each action from the policy's distribution (each episode from its own seeded stream) instead of the argmax; the agent is named <c>…+sampled</c>.</param>
    /// <exception cref="TelosInputException">A level whose observations or actions do not fit the policy.</exception>
    public static EvaluationResult<TState> RunPolicy<TState>(IEnvironmentFamily<TState> family, ActorCritic policy, PolicyOptions architecture, string distribution,
        DistributionParameters parameters, IReadOnlyList<long> levelSeeds, ulong seed, int thinkingSteps = 0, bool keepEpisodes = false, bool sampled = false)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(architecture);
        var name = "ppo-" + architecture.Kind.ToString().ToLowerInvariant() + (thinkingSteps > 0 ? $"+think{thinkingSteps}" : "") + (sampled ? "+sampled" : "");
        using var agent = new PolicyAgent<TState>(policy, PolicyLanes, name, greedy: !sampled, thinkingSteps: thinkingSteps);
        return AgentEvaluation.Evaluate(agent, family, distribution, parameters, levelSeeds, seed, new EvaluationOptions(KeepEpisodes: keepEpisodes));
    }

    /// <summary>Refuses a level whose observations or actions are not those the checkpoint's policy takes.</summary>
    /// <param name="level">A level of the distribution.</param>
    /// <param name="metadata">The checkpoint's metadata.</param>
    /// <param name="source">What the message names first (the checkpoint file, a run).</param>
    /// <param name="distribution">The level's distribution, for the message.</param>
    /// <param name="parameters">Its parameters, for the message.</param>
    /// <exception cref="TelosInputException">The shapes differ: one line naming both and the training distribution.</exception>
    public static void RequireFits<TState>(IEnvironment<TState> level, PolicyCheckpointMetadata metadata, string source, string distribution, DistributionParameters parameters)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(level);
        ArgumentNullException.ThrowIfNull(metadata);
        if (level.ObservationShape != metadata.ObservationShape || level.ActionCount != metadata.Actions)
        {
            var (o, t) = (level.ObservationShape, metadata.ObservationShape);
            throw new TelosInputException(string.Create(CultureInfo.InvariantCulture,
                $"{source}: the policy takes {t.Channels}×{t.Height}×{t.Width} observations and {metadata.Actions} actions (trained on {metadata.Env} {string.Join(" ", metadata.Parameters.Select(p => $"{p.Key}={p.Value}"))}); {distribution} {parameters} has {o.Channels}×{o.Height}×{o.Width} and {level.ActionCount}"));
        }
    }

    private sealed record PolicyEvaluation(ActorCritic Policy, PolicyCheckpointMetadata Metadata, string Source, string Distribution, DistributionParameters Parameters, int Episodes, ulong Seed,
        int ThinkingSteps, bool Sampled)
        : IFamilyOperation<EvaluationSummary>
    {
        public EvaluationSummary Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            RequireFits(family.Distribution(Distribution, Parameters).Level(LevelSeeds(Seed, 1)[0]), Metadata, Source, Distribution, Parameters);
            return EvaluatePolicy(family, Policy, Metadata.Architecture, Distribution, Parameters, Episodes, Seed, ThinkingSteps, Sampled);
        }
    }

    private sealed record PlannerEvaluation(EvaluationRequest Request) : IFamilyOperation<AgentEvaluationReport>
    {
        public AgentEvaluationReport Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            // As telos plan builds its agent: planner × objective × budget.
            var planner = Planners.Create(Request.Planner!, family);
            Request.Budget.Validate();
            family.Distribution(Request.Distribution, Request.Parameters);
            var objective = ObjectiveSources.Resolve(Request.Objective, family);
            var agent = new PlanningAgent<TState>(planner, objective, Request.Budget);
            var seed = Request.Seed;
            var summary = AgentEvaluation.Evaluate(agent, family, Request.Distribution, Request.Parameters, LevelSeeds(seed, Request.Episodes), Seeds.Derive(seed, "eval")).Summary;
            return new AgentEvaluationReport(summary.Agent, Request.Objective, Request.Parameters, summary);
        }
    }
}
