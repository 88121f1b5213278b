using System.Diagnostics;
using System.Globalization;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using Telos.Planning.Search;
using Telos.Randomness;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.Planning;

/// <summary>
/// Every setting of <see cref="SearchTraining{TState}"/> (config names in brackets). Defaults follow
/// Gumbel MuZero (Danihelka et al. 2022) where it has one: k = 16 considered root actions (capped at A),
/// Gumbel scale 1 while acting, completed-Q targets with value_scale 0.1 and maxvisit_init 50.
/// </summary>
public sealed record SearchTrainingSettings
{
    /// <summary>Root seed: the network's weights, the environments, the search's noise and the replay sampling derive from it by name.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Parallel environments, E [num_envs]; one batched search per step covers them all.</summary>
    public int NumEnvs { get; init; } = 16;

    /// <summary>Steps per environment between updates, T [num_steps].</summary>
    public int NumSteps { get; init; } = 16;

    /// <summary>Environment steps of the whole run [total_timesteps]; rounded down to whole iterations of E·T.</summary>
    public long TotalTimesteps { get; init; } = 100_000;

    /// <summary>N, simulations per move: the search budget [simulations].</summary>
    public int Simulations { get; init; } = 16;

    /// <summary>k, root actions Gumbel-top-k considers [max_considered_actions].</summary>
    public int MaxConsideredActions { get; init; } = 16;

    /// <summary>Scale of the root's Gumbel noise while acting in training (the exploration) [gumbel_scale].</summary>
    public float GumbelScale { get; init; } = 1f;

    /// <summary>Discount γ of the search's edges and of the Monte Carlo returns [gamma].</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>Transitions the replay buffer holds; the oldest are overwritten [replay_capacity].</summary>
    public int ReplayCapacity { get; init; } = 8192;

    /// <summary>
    /// Transitions per gradient step, drawn uniformly with replacement from the buffer [minibatch_size]. A recurrent
    /// policy trains on whole episodes instead: ⌈M / L⌉ of them per step (L the step limit), each padded to L steps, so a
    /// gradient step costs about the same M network steps.
    /// </summary>
    public int MinibatchSize { get; init; } = 128;

    /// <summary>Gradient steps per iteration [updates_per_iteration].</summary>
    public int UpdatesPerIteration { get; init; } = 4;

    /// <summary>Adam's learning rate [learning_rate].</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Adam's ε [adam_eps].</summary>
    public double AdamEps { get; init; } = 1e-8;

    /// <summary>Weight of the value loss ½(v − G)² beside the policy cross-entropy [vf_coef].</summary>
    public double VfCoef { get; init; } = 0.1;

    /// <summary>Global gradient-norm clip [max_grad_norm].</summary>
    public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Transitions per iteration, E·T.</summary>
    public int BatchSize => NumEnvs * NumSteps;

    /// <summary>Iterations in the run, total_timesteps / (E·T).</summary>
    public int NumIterations => (int)(TotalTimesteps / BatchSize);

    /// <summary>The Gumbel search these settings act with.</summary>
    public GumbelPolicy Gumbel => new() { MaxConsideredActions = MaxConsideredActions, GumbelScale = GumbelScale };

    /// <summary>Checks every setting.</summary>
    /// <exception cref="TelosInputException">A setting out of range, naming its key.</exception>
    public void Validate()
    {
        static void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new TelosInputException(message);
            }
        }
        Require(NumEnvs >= 1, $"num_envs {NumEnvs} must be ≥ 1");
        Require(NumSteps >= 1, $"num_steps {NumSteps} must be ≥ 1");
        Require(TotalTimesteps >= BatchSize, $"total_timesteps {TotalTimesteps} must be at least one iteration, num_envs·num_steps = {BatchSize}");
        Require(Simulations >= 1, $"simulations {Simulations} must be ≥ 1");
        Require(MaxConsideredActions >= 1, $"max_considered_actions {MaxConsideredActions} must be ≥ 1");
        Require(GumbelScale >= 0 && float.IsFinite(GumbelScale), $"gumbel_scale {GumbelScale} must be ≥ 0");
        Require(Gamma is >= 0 and <= 1, $"gamma {Gamma} must be in [0, 1]");
        Require(ReplayCapacity >= 1, $"replay_capacity {ReplayCapacity} must be ≥ 1");
        Require(MinibatchSize >= 1, $"minibatch_size {MinibatchSize} must be ≥ 1");
        Require(UpdatesPerIteration >= 1, $"updates_per_iteration {UpdatesPerIteration} must be ≥ 1");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"learning_rate {LearningRate} must be > 0");
        Require(AdamEps > 0, $"adam_eps {AdamEps} must be > 0");
        Require(VfCoef >= 0 && double.IsFinite(VfCoef), $"vf_coef {VfCoef} must be ≥ 0");
        Require(MaxGradNorm > 0, $"max_grad_norm {MaxGradNorm} must be > 0");
    }
}

/// <summary>The TensorBoard keys search training reports (CleanRL's where PPO has the same quantity).</summary>
public static class SearchTrainingMetricKeys
{
    public const string EpisodicReturn = "charts/episodic_return";
    public const string EpisodicLength = "charts/episodic_length";
    public const string SuccessRate = "charts/success_rate";
    public const string Sps = "charts/SPS";
    public const string PolicyLoss = "losses/policy_loss";
    public const string ValueLoss = "losses/value_loss";

    /// <summary>Mean over the iteration's searched roots of Σ_a (π'(a) − π(a)) q̂(a) (<see cref="PolicySearch{TState}.PolicyImprovement"/>): ≥ 0.</summary>
    public const string PolicyImprovement = "search/policy_improvement";

    /// <summary>The smallest of those per-root gains in the iteration (≥ 0 up to rounding).</summary>
    public const string PolicyImprovementMin = "search/policy_improvement_min";

    /// <summary>Transitions in the replay buffer after the iteration's episodes were added.</summary>
    public const string ReplaySize = "replay/size";
}

/// <summary>What one iteration (T search steps of every environment, then the updates) reports.</summary>
/// <param name="Iteration">1-based iteration.</param>
/// <param name="GlobalStep">Environment steps so far.</param>
/// <param name="Episodes">Episodes that ended during the iteration.</param>
/// <param name="Scalars">Values by <see cref="SearchTrainingMetricKeys"/> key; <c>charts/episodic_*</c> and the success rate are absent when no episode ended, the losses when the buffer was still empty; SPS is wall-clock.</param>
/// <param name="SearchSeconds">Wall-clock of the iteration's searches (outside the scalars, like every timing but SPS, so that identical runs log identical metrics).</param>
/// <param name="ModelSeconds">Of that, the time inside their model calls (environment steps and the forward pass of each wave).</param>
public sealed record SearchTrainingMetrics(int Iteration, long GlobalStep, int Episodes, IReadOnlyDictionary<string, double> Scalars, double SearchSeconds = 0, double ModelSeconds = 0);

/// <summary>Sets up search-training runs.</summary>
public static class SearchTraining
{
    /// <summary>
    /// A new policy of <paramref name="options"/> (any kind: the feed-forward CNN, or a recurrent DRC or LSTM whose state
    /// rides in the search tree) and its trainer on <paramref name="settings"/>.NumEnvs environments of <paramref name="levels"/>:
    /// the environments' seed is <c>Seeds.Derive(seed, "search-train/envs")</c>, the network's
    /// <c>Seeds.Derive(seed, "search-train/policy")</c>. The caller owns (and disposes) both.
    /// </summary>
    /// <exception cref="TelosInputException">Bad settings or policy sizes.</exception>
    public static (ActorCritic Policy, SearchTraining<TState> Trainer) Create<TState>(IEnvironmentFamily<TState> family, ITaskDistribution<IEnumerableEnvironment<TState>> levels,
        SearchTrainingSettings settings, PolicyOptions options, int poolSize = 1024)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(options);
        settings.Validate();
        options.Validate();
        TorchRuntime.EnsureInitialized();
        var envs = family.Batch(levels, settings.NumEnvs, Seeds.Derive(settings.Seed, "search-train/envs"), encodeObservations: true, poolSize: poolSize);
        var policy = ActorCritic.Create(envs.ObservationShape, envs.ActionCount, options, Seeds.Derive(settings.Seed, "search-train/policy"));
        return (policy, new SearchTraining<TState>(envs, policy, settings));
    }
}

/// <summary>
/// AlphaZero-style training with the true model and Gumbel MuZero's search (Danihelka et al. 2022): E
/// auto-resetting environments act through one batched <see cref="PolicySearch{TState}"/> per step at budget N
/// (the network's prior and value at the leaves, one forward pass per wave); each visited state's
/// observation and the search's improved policy (softmax(logits + σ(completed Q))) are kept until its
/// episode ends, when the discounted Monte Carlo return from it is computed and the transitions go into a
/// replay buffer. After every T steps, U gradient steps of Adam on uniformly drawn minibatches minimise the
/// cross-entropy to the improved policy plus vf_coef · ½(v − G)².
/// <para><b>Returns.</b> Monte Carlo to the episode's end; a truncated episode's return counts no reward
/// after the step limit (the limit is part of the task, and no bootstrap is added).</para>
/// <para><b>Recurrent policies</b> (DRC, LSTM). Each environment keeps the network's running state: a search's roots
/// start from it (<see cref="PolicySearch{TState}"/> carries it down every path), acting advances it by the root's own
/// step, and an episode's end zeroes it. The replay then holds whole episodes (⌊R / L⌋ of them, L the step limit),
/// and a gradient step unrolls ⌈M / L⌉ sampled episodes from the zero state through every step, with the current
/// weights: the states the loss sees are recomputed exactly, never stale stored ones (no burn-in is needed because
/// every sequence starts where its episode did). Padded steps past an episode's end are masked out of both losses.</para>
/// <para><b>Policy-improvement check.</b> Every searched root's Σ_a (π'(a) − π(a)) q̂(a) under the
/// search's own completed Q is averaged (and its minimum kept) per iteration: Gumbel MuZero's guarantee
/// says it is ≥ 0.</para>
/// </summary>
/// <typeparam name="TState">The environment's state.</typeparam>
/// <remarks>Not thread-safe. Owns the optimizer, the search and the buffers; the policy stays the caller's.</remarks>
public sealed partial class SearchTraining<TState> : IDisposable
    where TState : struct
{
    private readonly IBatchedEnvironment<TState> _envs;
    private readonly ActorCritic _policy;
    private readonly SearchTrainingSettings _settings;
    private readonly PolicySearch<TState> _search;
    private readonly Adam _optimizer;
    private readonly int _features;   // F = C·H·W
    private readonly int _actions;    // A
    private readonly int _episodeCapacity; // L, the step limit: the longest episode
    private readonly bool _recurrent;
    private Rng _replayOrder;

    // Replay buffer. Feed-forward: a ring of R transitions, observation [R, F], improved policy [R, A], return [R].
    // Recurrent: a ring of Q = ⌊R / L⌋ episodes, the same arrays as [Q, L, …] with each episode's length [Q].
    // Count and next are in the ring's units (transitions or episodes).
    private readonly int _replaySlots;
    private readonly float[] _replayObservations;
    private readonly float[] _replayPolicies;
    private readonly float[] _replayReturns;
    private readonly int[] _replayLengths;
    private int _replayCount;
    private int _replayNext;

    // A recurrent policy's running state per environment, [E, S] (null when feed-forward), and the episode-end mask.
    private readonly Tensor? _runningHidden;
    private readonly Tensor? _runningCell;
    private readonly float[] _keep;
    private readonly Tensor _keepTensor; // [E, 1] over _keep

    // Each environment's running episode, [E, L, …]: what it saw, the search's target, the reward it got.
    private readonly float[] _episodeObservations;
    private readonly float[] _episodePolicies;
    private readonly float[] _episodeRewards;
    private readonly int[] _episodeLengths;
    private readonly float[] _episodeReturns; // [L] scratch: a finishing episode's returns

    // Step buffers (no allocation per step).
    private readonly IEnvironment<TState>[] _levels;
    private readonly TState[] _states;
    private readonly ulong[] _seeds;
    private readonly int[] _stepActions;
    private readonly float[] _stepRewards;
    private readonly bool[] _terminated;
    private readonly bool[] _truncated;

    // A minibatch, as managed buffers the tensors share memory with: M transitions, or (recurrent) K episodes of L steps, time-major.
    private readonly int _sequences; // K
    private readonly float[] _batchObservations;
    private readonly float[] _batchPolicies;
    private readonly float[] _batchReturns;
    private readonly float[] _batchMask;
    private readonly Tensor _batchObservationTensor; // [1, M, C, H, W] or [L, K, C, H, W]
    private readonly Tensor _batchPolicyTensor;      // [M, A] or [L, K, A]
    private readonly Tensor _batchReturnTensor;      // [M] or [L, K]
    private readonly Tensor _batchMaskTensor;        // [L, K] (recurrent; 1 where a step is real)

    private long _globalStep;
    private int _iteration;

    /// <summary>Prepares training <paramref name="policy"/> (feed-forward or recurrent) on <paramref name="envs"/> (which must encode observations).</summary>
    /// <exception cref="TelosInputException">Bad settings, or environments that do not match the policy.</exception>
    public SearchTraining(IBatchedEnvironment<TState> envs, ActorCritic policy, SearchTrainingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(envs);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (!envs.EncodesObservations)
        {
            throw new TelosInputException("search training needs environments that encode observations (Batch(..., encodeObservations: true))");
        }
        if (envs.Count != settings.NumEnvs || envs.ObservationShape != policy.Observation || envs.ActionCount != policy.Actions)
        {
            throw new TelosInputException($"environments ({envs.Count} × {envs.ObservationShape}, {envs.ActionCount} actions) do not match num_envs {settings.NumEnvs} and the policy ({policy.Observation}, {policy.Actions} actions)");
        }
        TorchRuntime.EnsureInitialized();
        _envs = envs;
        _policy = policy;
        _settings = settings;
        _search = new PolicySearch<TState>(policy, settings.NumEnvs, settings.Simulations, settings.Gumbel, (float)settings.Gamma);
        _optimizer = optim.Adam(policy.parameters(), settings.LearningRate, eps: settings.AdamEps);
        _replayOrder = Seeds.Stream(settings.Seed, "search-train/replay");
        _features = policy.Observation.Size;
        _actions = policy.Actions;
        var e = settings.NumEnvs;
        _episodeCapacity = Enumerable.Range(0, e).Max(i => envs.CurrentLevel(i).StepLimit);
        _recurrent = policy.StateSize > 0;

        _replaySlots = _recurrent ? Math.Max(1, settings.ReplayCapacity / _episodeCapacity) : settings.ReplayCapacity;
        var r = _recurrent ? _replaySlots * _episodeCapacity : settings.ReplayCapacity;
        _replayObservations = new float[r * _features];
        _replayPolicies = new float[r * _actions];
        _replayReturns = new float[r];
        _replayLengths = new int[_recurrent ? _replaySlots : 0];
        _episodeObservations = new float[e * _episodeCapacity * _features];
        _episodePolicies = new float[e * _episodeCapacity * _actions];
        _episodeRewards = new float[e * _episodeCapacity];
        _episodeLengths = new int[e];
        _episodeReturns = new float[_episodeCapacity];

        _levels = new IEnvironment<TState>[e];
        _states = new TState[e];
        _seeds = new ulong[e];
        _stepActions = new int[e];
        _stepRewards = new float[e];
        _terminated = new bool[e];
        _truncated = new bool[e];

        var m = settings.MinibatchSize;
        var o = policy.Observation;
        _sequences = _recurrent ? (m + _episodeCapacity - 1) / _episodeCapacity : 0;
        // Rows of a minibatch: M transitions, or L steps × K episodes.
        var (steps, columns) = _recurrent ? (_episodeCapacity, _sequences) : (1, m);
        _batchObservations = new float[steps * columns * _features];
        _batchPolicies = new float[steps * columns * _actions];
        _batchReturns = new float[steps * columns];
        _batchMask = new float[steps * columns];
        _keep = new float[e];
        using (NewDisposeScope())
        {
            _batchObservationTensor = from_array(_batchObservations).view(steps, columns, o.Channels, o.Height, o.Width).MoveToOuterDisposeScope();
            _batchPolicyTensor = (_recurrent ? from_array(_batchPolicies).view(steps, columns, _actions) : from_array(_batchPolicies).view(m, _actions)).MoveToOuterDisposeScope();
            _batchReturnTensor = (_recurrent ? from_array(_batchReturns).view(steps, columns) : from_array(_batchReturns)).MoveToOuterDisposeScope();
            _batchMaskTensor = from_array(_batchMask).view(steps, columns).MoveToOuterDisposeScope();
            _keepTensor = from_array(_keep).view(e, 1).MoveToOuterDisposeScope();
            if (_recurrent)
            {
                _runningHidden = zeros(e, policy.StateSize).MoveToOuterDisposeScope();
                _runningCell = zeros(e, policy.StateSize).MoveToOuterDisposeScope();
            }
        }
    }

    /// <summary>Iterations done so far.</summary>
    public int Iteration => _iteration;

    /// <summary>Environment steps taken so far.</summary>
    public long GlobalStep => _globalStep;

    /// <summary>The settings.</summary>
    public SearchTrainingSettings Settings => _settings;

    /// <summary>Transitions in the replay buffer (a recurrent policy's: the steps of its stored episodes).</summary>
    public int ReplayCount
    {
        get
        {
            if (!_recurrent)
            {
                return _replayCount;
            }
            var steps = 0;
            foreach (var length in _replayLengths.AsSpan(0, _replayCount))
            {
                steps += length;
            }
            return steps;
        }
    }

    /// <summary>Whether the policy is recurrent (its replay holds whole episodes).</summary>
    public bool Recurrent => _recurrent;

    /// <summary>Forward passes of the network the search has made (roots and waves).</summary>
    public long SearchForwardPasses => _search.ForwardPasses;

    /// <summary>Rows those forward passes ran (in this process: a restored run counts from its restore), at most <see cref="SearchCompute.SearchRowsPerIteration"/> per iteration.</summary>
    public long SearchForwardRows => _search.ForwardRows;

    /// <summary>Runs the remaining iterations, reporting each; stops early (between iterations) when cancelled.</summary>
    public IReadOnlyList<SearchTrainingMetrics> Train(IProgress<SearchTrainingMetrics>? progress = null, CancellationToken cancellation = default)
    {
        var all = new List<SearchTrainingMetrics>();
        while (_iteration < _settings.NumIterations && !cancellation.IsCancellationRequested)
        {
            var metrics = Step();
            all.Add(metrics);
            progress?.Report(metrics);
        }
        return all;
    }

    /// <summary>One iteration: T search steps of every environment, then U gradient steps on the replay buffer.</summary>
    /// <exception cref="InvalidOperationException">All <see cref="SearchTrainingSettings.NumIterations"/> are done.</exception>
    /// <exception cref="PpoDivergedException">A loss or gradient norm was NaN or infinite; that gradient step was not taken (its "epoch" is 1, its "minibatch" the gradient step).</exception>
    public SearchTrainingMetrics Step()
    {
        if (_iteration >= _settings.NumIterations)
        {
            throw new InvalidOperationException($"all {_settings.NumIterations} iterations are done");
        }
        var clock = Stopwatch.StartNew();
        _iteration++;
        var collected = Collect();
        var scalars = Update();
        if (collected.Episodes > 0)
        {
            scalars[SearchTrainingMetricKeys.EpisodicReturn] = collected.ReturnSum / collected.Episodes;
            scalars[SearchTrainingMetricKeys.EpisodicLength] = collected.LengthSum / (double)collected.Episodes;
            scalars[SearchTrainingMetricKeys.SuccessRate] = collected.Successes / (double)collected.Episodes;
        }
        scalars[SearchTrainingMetricKeys.PolicyImprovement] = collected.ImprovementSum / collected.Roots;
        scalars[SearchTrainingMetricKeys.PolicyImprovementMin] = collected.ImprovementMin;
        scalars[SearchTrainingMetricKeys.ReplaySize] = ReplayCount;
        scalars[SearchTrainingMetricKeys.Sps] = _settings.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        return new SearchTrainingMetrics(_iteration, _globalStep, collected.Episodes, scalars, collected.SearchSeconds, collected.ModelSeconds);
    }

    /// <summary>What the steps of one iteration gathered.</summary>
    private readonly record struct Collected(int Episodes, int Successes, double ReturnSum, long LengthSum, double ImprovementSum, double ImprovementMin, long Roots,
        double SearchSeconds, double ModelSeconds);

    /// <summary>T steps of every environment, each one batched search; finished episodes go into the replay buffer.</summary>
    private Collected Collect()
    {
        var s = _settings;
        var e = s.NumEnvs;
        var (episodes, successes, returnSum, lengthSum) = (0, 0, 0.0, 0L);
        var (improvementSum, improvementMin) = (0.0, double.PositiveInfinity);
        var (searchSeconds, modelSeconds) = (0.0, 0.0);
        for (var t = 0; t < s.NumSteps; t++)
        {
            var stepSeed = Seeds.Derive(s.Seed, "search-train/search/" + _globalStep.ToString(CultureInfo.InvariantCulture));
            for (var i = 0; i < e; i++)
            {
                _levels[i] = _envs.CurrentLevel(i);
                _states[i] = _envs.CurrentState(i);
                _seeds[i] = SearchSeeds.ForRoot(stepSeed, i);
            }
            var result = _search.Run(_levels, _states, _seeds, _recurrent ? new RecurrentState(_runningHidden!, _runningCell!) : null);
            if (_recurrent)
            {
                // Acting advances each environment's running state by its root's step.
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var after = _search.RootStates();
                _runningHidden!.copy_(after.Hidden);
                _runningCell!.copy_(after.Cell);
            }
            searchSeconds += result.Statistics.TotalSeconds;
            modelSeconds += result.Statistics.ModelSeconds;
            var observations = _envs.Observations;
            for (var i = 0; i < e; i++)
            {
                var slot = Slot(i);
                observations.Slice(i * _features, _features).CopyTo(_episodeObservations.AsSpan(slot * _features, _features));
                result.ActionWeightsOf(i).CopyTo(_episodePolicies.AsSpan(slot * _actions, _actions));
                _stepActions[i] = result.Actions[i];
                var gain = _search.PolicyImprovement(result, i);
                improvementSum += gain;
                improvementMin = Math.Min(improvementMin, gain);
            }

            _envs.Step(_stepActions, _stepRewards, _terminated, _truncated);
            _globalStep += e;
            var ended = false;
            for (var i = 0; i < e; i++)
            {
                _episodeRewards[Slot(i)] = _stepRewards[i];
                _episodeLengths[i]++;
                _keep[i] = 1f;
                if (_terminated[i] || _truncated[i])
                {
                    episodes++;
                    successes += _terminated[i] ? 1 : 0;
                    lengthSum += _episodeLengths[i];
                    returnSum += _recurrent ? FinishEpisodeSequence(i) : FinishEpisode(i);
                    (_keep[i], ended) = (0f, true);
                }
            }
            if (_recurrent && ended)
            {
                // A new episode starts from the zero state (one multiply for all environments).
                using var noGrad = no_grad();
                _runningHidden!.mul_(_keepTensor);
                _runningCell!.mul_(_keepTensor);
            }
        }
        return new Collected(episodes, successes, returnSum, lengthSum, improvementSum, improvementMin, (long)s.NumSteps * e, searchSeconds, modelSeconds);
    }

    /// <summary>Environment <paramref name="env"/>'s row for its episode's next step.</summary>
    private int Slot(int env)
    {
        var length = _episodeLengths[env];
        if (length >= _episodeCapacity)
        {
            throw new InvalidOperationException($"environment {env}'s episode outran the step limit {_episodeCapacity}");
        }
        return (env * _episodeCapacity) + length;
    }

    /// <summary>Writes environment <paramref name="env"/>'s finished episode into the replay buffer with its discounted returns; returns its undiscounted return.</summary>
    private double FinishEpisode(int env)
    {
        var length = _episodeLengths[env];
        var first = env * _episodeCapacity;
        var total = DiscountedReturns(env, length);
        for (var t = length - 1; t >= 0; t--)
        {
            var row = _replayNext;
            _episodeObservations.AsSpan((first + t) * _features, _features).CopyTo(_replayObservations.AsSpan(row * _features, _features));
            _episodePolicies.AsSpan((first + t) * _actions, _actions).CopyTo(_replayPolicies.AsSpan(row * _actions, _actions));
            _replayReturns[row] = _episodeReturns[t];
            _replayNext = (row + 1) % _settings.ReplayCapacity;
            _replayCount = Math.Min(_replayCount + 1, _settings.ReplayCapacity);
        }
        _episodeLengths[env] = 0;
        return total;
    }

    /// <summary>The discounted Monte Carlo return from every step of environment <paramref name="env"/>'s first <paramref name="length"/> steps, into <c>_episodeReturns</c>; returns the undiscounted return.</summary>
    private double DiscountedReturns(int env, int length)
    {
        var first = env * _episodeCapacity;
        var gamma = _settings.Gamma;
        double future = 0;
        double total = 0;
        for (var t = length - 1; t >= 0; t--)
        {
            var reward = _episodeRewards[first + t];
            total += reward;
            future = reward + (gamma * future);
            _episodeReturns[t] = (float)future;
        }
        return total;
    }

    /// <summary>U gradient steps on minibatches drawn from the buffer (none while it is empty); returns the last step's losses.</summary>
    private Dictionary<string, double> Update()
    {
        var s = _settings;
        var scalars = new Dictionary<string, double>(StringComparer.Ordinal);
        if (_replayCount == 0)
        {
            return scalars;
        }
        if (_recurrent)
        {
            return UpdateSequences();
        }
        var m = s.MinibatchSize;
        for (var update = 0; update < s.UpdatesPerIteration; update++)
        {
            for (var i = 0; i < m; i++)
            {
                var row = _replayOrder.NextInt(_replayCount);
                _replayObservations.AsSpan(row * _features, _features).CopyTo(_batchObservations.AsSpan(i * _features, _features));
                _replayPolicies.AsSpan(row * _actions, _actions).CopyTo(_batchPolicies.AsSpan(i * _actions, _actions));
                _batchReturns[i] = _replayReturns[row];
            }
            using var scope = NewDisposeScope();
            var output = _policy.Unroll(_batchObservationTensor, _policy.InitialState(m), zeros(1, m));
            var logProbabilities = output.Logits[0].log_softmax(-1);
            var policyLoss = _batchPolicyTensor.mul(logProbabilities).sum(-1).mean().neg();
            var valueLoss = output.Values[0].sub(_batchReturnTensor).square().mean().mul(0.5);
            GradientStep(policyLoss, valueLoss, update, scalars);
        }
        return scalars;
    }

    /// <summary>One Adam step on policy loss + vf_coef · value loss, with the global norm clip; records both losses.</summary>
    private void GradientStep(Tensor policyLoss, Tensor valueLoss, int update, Dictionary<string, double> scalars)
    {
        var loss = policyLoss.add(valueLoss.mul(_settings.VfCoef));
        RequireFinite("loss", loss.item<float>(), update);
        _optimizer.zero_grad();
        loss.backward();
        var gradientNorm = nn.utils.clip_grad_norm_(_policy.parameters(), _settings.MaxGradNorm);
        RequireFinite("gradient norm", gradientNorm, update);
        _optimizer.step();
        scalars[SearchTrainingMetricKeys.PolicyLoss] = policyLoss.item<float>();
        scalars[SearchTrainingMetricKeys.ValueLoss] = valueLoss.item<float>();
    }

    private void RequireFinite(string quantity, double value, int update)
    {
        if (!double.IsFinite(value))
        {
            throw new PpoDivergedException(quantity, value, _iteration, 1, update + 1);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _search.Dispose();
        _optimizer.Dispose();
        _batchObservationTensor.Dispose();
        _batchPolicyTensor.Dispose();
        _batchReturnTensor.Dispose();
        _batchMaskTensor.Dispose();
        _keepTensor.Dispose();
        _runningHidden?.Dispose();
        _runningCell?.Dispose();
    }
}
