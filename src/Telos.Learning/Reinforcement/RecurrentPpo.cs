using System.Diagnostics;
using System.Runtime.InteropServices;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Optimization;
using Telos.Learning.Reinforcement.Policies;
using Telos.Randomness;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Telos.Learning.Reinforcement;

/// <summary>
/// Every setting of <see cref="RecurrentPpo{TState}"/>, with CleanRL's defaults for
/// <c>ppo_atari_lstm.py</c> unless noted (CleanRL's name in brackets where it differs).
/// </summary>
public sealed record PpoSettings
{
    /// <summary>Root seed: the policy's weights, the environments, action sampling and minibatch order derive from it by name.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Parallel environments, E [num_envs].</summary>
    public int NumEnvs { get; init; } = 8;

    /// <summary>Steps per environment per rollout, T [num_steps].</summary>
    public int NumSteps { get; init; } = 128;

    /// <summary>Environment steps of the whole run [total_timesteps]; rounded down to whole rollouts.</summary>
    public long TotalTimesteps { get; init; } = 10_000_000;

    /// <summary>Adam's learning rate at the start [learning_rate].</summary>
    public double LearningRate { get; init; } = 2.5e-4;

    /// <summary>Anneal the learning rate linearly to 0 over the run [anneal_lr].</summary>
    public bool AnnealLr { get; init; } = true;

    /// <summary>Adam's ε (PyTorch's default is 1e-8; PPO implementations use 1e-5).</summary>
    public double AdamEps { get; init; } = 1e-5;

    /// <summary>Discount γ [gamma].</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>GAE's λ [gae_lambda].</summary>
    public double GaeLambda { get; init; } = 0.95;

    /// <summary>Minibatches per epoch; the rollout is split by environment, so E must be a multiple [num_minibatches].</summary>
    public int NumMinibatches { get; init; } = 4;

    /// <summary>Passes over the rollout per update [update_epochs].</summary>
    public int UpdateEpochs { get; init; } = 4;

    /// <summary>Normalize advantages within each minibatch [norm_adv].</summary>
    public bool NormAdv { get; init; } = true;

    /// <summary>Surrogate clipping ε [clip_coef]; CleanRL uses 0.1 on Atari, 0.2 elsewhere.</summary>
    public double ClipCoef { get; init; } = 0.1;

    /// <summary>Clip the value loss around the rollout's values as the surrogate is clipped [clip_vloss].</summary>
    public bool ClipVloss { get; init; } = true;

    /// <summary>Entropy bonus coefficient [ent_coef].</summary>
    public double EntCoef { get; init; } = 0.01;

    /// <summary>Value loss coefficient [vf_coef].</summary>
    public double VfCoef { get; init; } = 0.5;

    /// <summary>Global gradient-norm clip [max_grad_norm].</summary>
    public double MaxGradNorm { get; init; } = 0.5;

    /// <summary>Stop an update's epochs early once approx_kl exceeds this (null: never) [target_kl].</summary>
    public double? TargetKl { get; init; }

    /// <summary>
    /// How an LSTM policy runs its LSTM while training, rollouts and updates alike (Telos' own
    /// setting, <c>lstm_kernel</c>; not in CleanRL): <see cref="LstmKernel.LibTorch"/> (the default,
    /// which every run before <see cref="LstmKernel.Fused"/> existed used, so their metrics reproduce)
    /// or <see cref="LstmKernel.Fused"/>, the same function to float rounding (tested to 1e-5) and several times faster on small
    /// networks. The trainer sets the policy's <see cref="ActorCritic.LstmKernel"/> to it.
    /// </summary>
    public LstmKernel LstmKernel { get; init; }

    /// <summary>
    /// How the update computes each minibatch's loss and steps the optimizer (Telos' own setting,
    /// <c>update_kernel</c>; not in CleanRL): <see cref="UpdateKernel.LibTorch"/> (the default, which
    /// every run before <see cref="UpdateKernel.Fused"/> existed used, so their metrics reproduce) or
    /// <see cref="UpdateKernel.Fused"/>, the same loss, clip and Adam to float rounding in managed
    /// code (<see cref="PpoLoss"/>, <see cref="Optimization.FusedAdam"/>). Checkpoints hold Adam's
    /// state under the same names either way, so a run resumes under either kernel.
    /// </summary>
    public UpdateKernel UpdateKernel { get; init; }

    /// <summary>
    /// How the policy's encoder runs while training (Telos' own setting, <c>encoder_kernel</c>; not
    /// in CleanRL): <see cref="EncoderKernel.LibTorch"/> (the default, which every run before
    /// <see cref="EncoderKernel.Fused"/> existed used, so their metrics reproduce) or
    /// <see cref="EncoderKernel.Fused"/>, the same function to float rounding (tested to 1e-5) as one
    /// autograd node (<see cref="FusedGridEncoder"/>). The trainer sets the policy's
    /// <see cref="ActorCritic.EncoderKernel"/> to it.
    /// </summary>
    public EncoderKernel EncoderKernel { get; init; }

    /// <summary>Transitions per rollout, E·T [batch_size].</summary>
    public int BatchSize => NumEnvs * NumSteps;

    /// <summary>Environments per minibatch, E / num_minibatches [envsperbatch].</summary>
    public int EnvsPerMinibatch => NumEnvs / NumMinibatches;

    /// <summary>Transitions per minibatch [minibatch_size].</summary>
    public int MinibatchSize => BatchSize / NumMinibatches;

    /// <summary>Updates in the run, total_timesteps / batch_size [num_iterations].</summary>
    public int NumIterations => (int)(TotalTimesteps / BatchSize);

    /// <summary>Checks every setting.</summary>
    /// <exception cref="TelosInputException">A setting out of range, naming it.</exception>
    public void Validate()
    {
        void Require(bool ok, string message)
        {
            if (!ok)
            {
                throw new TelosInputException(message);
            }
        }
        Require(NumEnvs >= 1, $"num_envs {NumEnvs} must be ≥ 1");
        Require(NumSteps >= 1, $"num_steps {NumSteps} must be ≥ 1");
        Require(NumMinibatches >= 1 && NumEnvs % NumMinibatches == 0, $"num_minibatches {NumMinibatches} must divide num_envs {NumEnvs} (minibatches are split by environment)");
        Require(TotalTimesteps >= BatchSize, $"total_timesteps {TotalTimesteps} must be at least one rollout, num_envs·num_steps = {BatchSize}");
        Require(LearningRate > 0 && double.IsFinite(LearningRate), $"learning_rate {LearningRate} must be > 0");
        Require(AdamEps > 0, $"adam_eps {AdamEps} must be > 0");
        Require(Gamma is >= 0 and <= 1, $"gamma {Gamma} must be in [0, 1]");
        Require(GaeLambda is >= 0 and <= 1, $"gae_lambda {GaeLambda} must be in [0, 1]");
        Require(UpdateEpochs >= 1, $"update_epochs {UpdateEpochs} must be ≥ 1");
        Require(ClipCoef > 0, $"clip_coef {ClipCoef} must be > 0");
        Require(EntCoef >= 0 && VfCoef >= 0, $"ent_coef {EntCoef} and vf_coef {VfCoef} must be ≥ 0");
        Require(MaxGradNorm > 0, $"max_grad_norm {MaxGradNorm} must be > 0");
        Require(TargetKl is null or > 0, $"target_kl {TargetKl} must be > 0 when given");
    }
}

/// <summary>CleanRL's TensorBoard keys, the names every PPO metric is reported under.</summary>
public static class PpoMetricKeys
{
    public const string EpisodicReturn = "charts/episodic_return";
    public const string EpisodicLength = "charts/episodic_length";
    public const string LearningRate = "charts/learning_rate";
    public const string Sps = "charts/SPS";
    public const string ValueLoss = "losses/value_loss";
    public const string PolicyLoss = "losses/policy_loss";
    public const string Entropy = "losses/entropy";
    public const string OldApproxKl = "losses/old_approx_kl";
    public const string ApproxKl = "losses/approx_kl";
    public const string ClipFrac = "losses/clipfrac";
    public const string ExplainedVariance = "losses/explained_variance";
}

/// <summary>What one PPO iteration (a rollout and an update) reports.</summary>
/// <param name="Iteration">1-based iteration.</param>
/// <param name="GlobalStep">Environment steps so far (all environments).</param>
/// <param name="Episodes">Episodes that ended during the rollout.</param>
/// <param name="Scalars">Values by <see cref="PpoMetricKeys"/> key. <c>charts/episodic_*</c> (means over the rollout's finished episodes) are absent when none finished; <c>charts/SPS</c> is wall-clock and so differs between identical runs.</param>
public sealed record PpoMetrics(int Iteration, long GlobalStep, int Episodes, IReadOnlyDictionary<string, double> Scalars);

/// <summary>Sets up PPO runs.</summary>
public static class RecurrentPpo
{
    /// <summary>
    /// A new policy of <paramref name="options"/> and its trainer on <paramref name="settings"/>.NumEnvs
    /// auto-resetting environments of <paramref name="levels"/>: the environments' seed is
    /// <c>Seeds.Derive(seed, "ppo/envs")</c>, the policy's <c>Seeds.Derive(seed, "ppo/policy")</c>.
    /// The caller owns (and disposes) both.
    /// </summary>
    /// <exception cref="TelosInputException">Bad settings or policy options.</exception>
    public static (ActorCritic Policy, RecurrentPpo<TState> Trainer) Create<TState>(IEnvironmentFamily<TState> family, ITaskDistribution<IEnumerableEnvironment<TState>> levels,
        PpoSettings settings, PolicyOptions options, int poolSize = 1024)
        where TState : struct
    {
        ArgumentNullException.ThrowIfNull(family);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        TorchRuntime.EnsureInitialized();
        var envs = family.Batch(levels, settings.NumEnvs, Seeds.Derive(settings.Seed, "ppo/envs"), encodeObservations: true, poolSize: poolSize);
        var policy = ActorCritic.Create(envs.ObservationShape, envs.ActionCount, options, Seeds.Derive(settings.Seed, "ppo/policy"));
        return (policy, new RecurrentPpo<TState>(envs, policy, settings));
    }
}

/// <summary>
/// Recurrent PPO (Schulman et al. 2017) in the form of CleanRL's <c>ppo_atari_lstm.py</c>, readable
/// top to bottom: collect a rollout of T steps from E auto-resetting environments into preallocated
/// [T, E, …] tensors, compute GAE advantages, then for a few epochs update the policy on
/// minibatches of whole environments, recomputing the recurrent state through each sequence from
/// the state the rollout started in.
/// <para><b>Recurrence.</b> The state starts at zero, is zeroed (masked by 1 − start) before the first
/// observation of every episode, and the rollout's initial state is kept for the update.</para>
/// <para><b>Truncation.</b> When the step limit cuts an episode, its last transition is bootstrapped
/// as non-terminal: γ·V(final observation) is added to its reward (the value computed with the state
/// the episode would have continued with), while the next observation — a new episode's — is not.</para>
/// </summary>
/// <typeparam name="TState">The environment's state.</typeparam>
/// <remarks>Not thread-safe. Owns the optimizer and rollout tensors; the policy stays the caller's.</remarks>
public sealed partial class RecurrentPpo<TState> : IDisposable
    where TState : struct
{
    private readonly IBatchedEnvironment<TState> _envs;
    private readonly ActorCritic _policy;
    private readonly PpoSettings _settings;
    private readonly Adam? _optimizer;          // UpdateKernel.LibTorch
    private readonly FusedAdam? _fusedOptimizer; // UpdateKernel.Fused
    private readonly Generator _actionGenerator;
    private Rng _minibatchOrder;

    // Rollout storage, [T, E, …]: what the policy saw, did and got.
    private readonly Tensor _observations;     // [T, E, C, H, W]
    private readonly Tensor _starts;           // [T, E] 1 where observation t begins an episode (CleanRL's dones)
    private readonly Tensor _actions;          // [T, E] int64
    private readonly Tensor _logprobs;         // [T, E] log π_old(a|s)
    private readonly Tensor _rewards;          // [T, E]
    private readonly Tensor _values;           // [T, E] V_old(s)
    private readonly Tensor _truncatedValues;  // [T, E] V(final observation) where step t was truncated, else 0

    // The environments' current observation, episode-start flags and the policy's state.
    private readonly Tensor _nextObservation;  // [E, C, H, W]
    private readonly Tensor _nextStart;        // [E]
    private readonly RecurrentState _state;    // [E, S], updated in place

    // Made once, so that a rollout step creates no tensor of its own beyond the policy's and the
    // sampling's: row t of every rollout tensor, the next observation and starts as a [1, E] block,
    // and the inputs of the truncation bootstrap.
    private readonly RolloutRow[] _rows;              // [T]
    private readonly Tensor _nextObservationBlock;    // [1, E, C, H, W] view of _nextObservation
    private readonly Tensor _nextStartBlock;          // [1, E] view of _nextStart
    private readonly Tensor _finalObservationBlock;   // [1, 1, C, H, W]
    private readonly Tensor _finalEnv;                // [1] int64
    private readonly Tensor _finalStart;              // [1, 1] zeros

    // Host-side step buffers (no allocation per step).
    private readonly int[] _stepActions;
    private readonly float[] _stepRewards;
    private readonly float[] _stepTruncatedValues;
    private readonly float[] _startFlags;
    private readonly bool[] _terminated;
    private readonly bool[] _truncated;
    private readonly float[] _finalObservation;
    private readonly double[] _episodeReturn;
    private readonly int[] _episodeLength;

    private long _globalStep;
    private int _iteration;

    /// <summary>Prepares training <paramref name="policy"/> on <paramref name="envs"/> (which must encode observations).</summary>
    /// <exception cref="TelosInputException">Bad settings, or environments that do not match the policy.</exception>
    public RecurrentPpo(IBatchedEnvironment<TState> envs, ActorCritic policy, PpoSettings settings)
    {
        ArgumentNullException.ThrowIfNull(envs);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (!envs.EncodesObservations)
        {
            throw new TelosInputException("PPO needs environments that encode observations (Batch(..., encodeObservations: true))");
        }
        if (envs.Count != settings.NumEnvs || envs.ObservationShape != policy.Observation || envs.ActionCount != policy.Actions)
        {
            throw new TelosInputException($"environments ({envs.Count} × {envs.ObservationShape}, {envs.ActionCount} actions) do not match num_envs {settings.NumEnvs} and the policy ({policy.Observation}, {policy.Actions} actions)");
        }
        TorchRuntime.EnsureInitialized();
        _envs = envs;
        _policy = policy;
        _policy.LstmKernel = settings.LstmKernel;
        _policy.EncoderKernel = settings.EncoderKernel;
        _settings = settings;
        if (settings.UpdateKernel == UpdateKernel.Fused)
        {
            _fusedOptimizer = new FusedAdam(policy.parameters(), settings.LearningRate, eps: settings.AdamEps);
        }
        else
        {
            _optimizer = optim.Adam(policy.parameters(), settings.LearningRate, eps: settings.AdamEps);
        }
        _actionGenerator = new Generator(Seeds.Derive(settings.Seed, "ppo/actions"));
        _minibatchOrder = Seeds.Stream(settings.Seed, "ppo/minibatches");

        var (t, e) = (settings.NumSteps, settings.NumEnvs);
        var o = envs.ObservationShape;
        _observations = zeros([t, e, o.Channels, o.Height, o.Width]).DetachFromDisposeScope();
        _starts = zeros(t, e).DetachFromDisposeScope();
        _actions = zeros(t, e, ScalarType.Int64).DetachFromDisposeScope();
        _logprobs = zeros(t, e).DetachFromDisposeScope();
        _rewards = zeros(t, e).DetachFromDisposeScope();
        _values = zeros(t, e).DetachFromDisposeScope();
        _truncatedValues = zeros(t, e).DetachFromDisposeScope();
        _nextObservation = zeros(e, o.Channels, o.Height, o.Width).DetachFromDisposeScope();
        _nextStart = ones(e).DetachFromDisposeScope(); // every environment begins an episode
        CopyInto(_nextObservation, envs.Observations);
        _state = policy.InitialState(e).Keep();

        _rows = new RolloutRow[t];
        for (var row = 0; row < t; row++)
        {
            _rows[row] = new RolloutRow(
                _observations[row].DetachFromDisposeScope(), _starts[row].DetachFromDisposeScope(), _actions[row].unsqueeze(1).DetachFromDisposeScope(),
                _logprobs[row].unsqueeze(1).DetachFromDisposeScope(), _rewards[row].DetachFromDisposeScope(), _values[row].unsqueeze(0).DetachFromDisposeScope(),
                _truncatedValues[row].DetachFromDisposeScope());
        }
        _nextObservationBlock = _nextObservation.unsqueeze(0).DetachFromDisposeScope();
        _nextStartBlock = _nextStart.unsqueeze(0).DetachFromDisposeScope();
        _finalObservationBlock = zeros([1, 1, o.Channels, o.Height, o.Width]).DetachFromDisposeScope();
        _finalEnv = zeros(1, ScalarType.Int64).DetachFromDisposeScope();
        _finalStart = zeros(1, 1).DetachFromDisposeScope();

        _stepActions = new int[e];
        _stepRewards = new float[e];
        _stepTruncatedValues = new float[e];
        _startFlags = new float[e];
        _terminated = new bool[e];
        _truncated = new bool[e];
        _finalObservation = new float[o.Size];
        _episodeReturn = new double[e];
        _episodeLength = new int[e];
    }

    /// <summary>Iterations done so far.</summary>
    public int Iteration => _iteration;

    /// <summary>Environment steps taken so far.</summary>
    public long GlobalStep => _globalStep;

    /// <summary>The settings.</summary>
    public PpoSettings Settings => _settings;

    /// <summary>The last rollout's [T, E] episode-start flags (for tests).</summary>
    internal Tensor Starts => _starts;

    /// <summary>The [E, C, H, W] observation the next step acts on (for tests).</summary>
    internal Tensor NextObservation => _nextObservation;

    /// <summary>The environments.</summary>
    internal IBatchedEnvironment<TState> Environments => _envs;

    /// <summary>One rollout of T steps into the rollout tensors, without the update (for tests that measure the rollout alone); returns the episodes that ended.</summary>
    internal int CollectRollout()
    {
        using var scope = NewDisposeScope();
        return Rollout().Episodes;
    }

    /// <summary>Runs the remaining iterations, reporting each; stops early (between iterations) when cancelled.</summary>
    public IReadOnlyList<PpoMetrics> Train(IProgress<PpoMetrics>? progress = null, CancellationToken cancellation = default)
    {
        var all = new List<PpoMetrics>();
        while (_iteration < _settings.NumIterations && !cancellation.IsCancellationRequested)
        {
            var metrics = Step();
            all.Add(metrics);
            progress?.Report(metrics);
        }
        return all;
    }

    /// <summary>One iteration: a rollout of T steps from every environment, then the update.</summary>
    /// <exception cref="InvalidOperationException">All <see cref="PpoSettings.NumIterations"/> are done.</exception>
    /// <exception cref="PpoDivergedException">A loss or gradient norm was NaN or infinite; that minibatch's step was not taken.</exception>
    public PpoMetrics Step()
    {
        if (_iteration >= _settings.NumIterations)
        {
            throw new InvalidOperationException($"all {_settings.NumIterations} iterations are done");
        }
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        _iteration++;
        var s = _settings;

        // Annealing the rate: 1 at the first iteration, 1/num_iterations at the last.
        var learningRate = s.AnnealLr ? (1.0 - (_iteration - 1.0) / s.NumIterations) * s.LearningRate : s.LearningRate;
        if (_fusedOptimizer is not null)
        {
            _fusedOptimizer.LearningRate = learningRate;
        }
        foreach (var group in _optimizer?.ParamGroups ?? [])
        {
            group.LearningRate = learningRate;
        }

        // The state the rollout starts from: the update recomputes every sequence from it.
        var initialState = new RecurrentState(_state.Hidden.clone(), _state.Cell.clone());
        var (episodes, returnSum, lengthSum) = Rollout();

        // Bootstrap from the observation after the rollout.
        Tensor nextValue;
        using (no_grad())
        {
            nextValue = _policy.Unroll(_nextObservation.unsqueeze(0), _state, _nextStart.unsqueeze(0)).Values[0];
        }
        var (advantages, returns) = Gae.Compute(_rewards, _values, _starts, _truncatedValues, nextValue, _nextStart, s.Gamma, s.GaeLambda);

        var scalars = Update(initialState, advantages, returns);
        scalars[PpoMetricKeys.LearningRate] = learningRate;
        scalars[PpoMetricKeys.ExplainedVariance] = ExplainedVariance(_values, returns);
        if (episodes > 0)
        {
            scalars[PpoMetricKeys.EpisodicReturn] = returnSum / episodes;
            scalars[PpoMetricKeys.EpisodicLength] = lengthSum / (double)episodes;
        }
        scalars[PpoMetricKeys.Sps] = s.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
        return new PpoMetrics(_iteration, _globalStep, episodes, scalars);
    }

    /// <summary>
    /// T steps of every environment into the rollout tensors; returns the episodes that ended and
    /// their return and length sums. A step allocates nothing managed of its own and creates no
    /// tensor beyond the policy's forward and the sampling (and one more forward per truncated
    /// episode): host data is copied straight into row t of the rollout tensors, the policy's new
    /// state into the persistent state tensors.
    /// </summary>
    private (int Episodes, double ReturnSum, long LengthSum) Rollout()
    {
        var s = _settings;
        var (episodes, returnSum, lengthSum) = (0, 0.0, 0L);
        for (var t = 0; t < s.NumSteps; t++)
        {
            // Frees the step's tensors: the policy's temporaries and the sampled action.
            using var step = NewDisposeScope();
            var row = _rows[t];
            _globalStep += s.NumEnvs;
            _nextObservation.bytes.CopyTo(row.Observation.bytes);
            _nextStart.bytes.CopyTo(row.Start.bytes);

            using (no_grad())
            {
                var output = _policy.Unroll(_nextObservationBlock, _state, _nextStartBlock);
                var logits = output.Logits[0];
                var action = multinomial(logits.softmax(-1), 1, replacement: true, generator: _actionGenerator);
                row.Action.copy_(action);
                row.Logprob.copy_(logits.log_softmax(-1).gather(1, action));
                row.Value.copy_(output.Values);
                // In place: a feed-forward policy hands its (empty) state back unchanged, a copy onto itself.
                _state.Hidden.copy_(output.State.Hidden);
                _state.Cell.copy_(output.State.Cell);
                var sampled = MemoryMarshal.Cast<byte, long>(row.Action.bytes);
                for (var e = 0; e < s.NumEnvs; e++)
                {
                    _stepActions[e] = (int)sampled[e];
                }
            }

            _envs.Step(_stepActions, _stepRewards, _terminated, _truncated);
            CopyInto(_nextObservation, _envs.Observations);
            CopyInto(row.Reward, _stepRewards);

            Array.Clear(_stepTruncatedValues);
            for (var e = 0; e < s.NumEnvs; e++)
            {
                var done = _terminated[e] || _truncated[e];
                _startFlags[e] = done ? 1f : 0f;
                _episodeReturn[e] += _stepRewards[e];
                _episodeLength[e]++;
                if (done)
                {
                    episodes++;
                    returnSum += _episodeReturn[e];
                    lengthSum += _episodeLength[e];
                    (_episodeReturn[e], _episodeLength[e]) = (0, 0);
                }
                if (_truncated[e] && !_terminated[e])
                {
                    _stepTruncatedValues[e] = FinalValue(e);
                }
            }
            CopyInto(row.TruncatedValue, _stepTruncatedValues);
            CopyInto(_nextStart, _startFlags);
        }
        return (episodes, returnSum, lengthSum);
    }

    /// <summary>V of environment <paramref name="env"/>'s final observation, with the state its episode would have continued in.</summary>
    private float FinalValue(int env)
    {
        _envs.WriteFinalObservation(env, _finalObservation);
        CopyInto(_finalObservationBlock, _finalObservation);
        MemoryMarshal.Cast<byte, long>(_finalEnv.bytes)[0] = env;
        using var noGrad = no_grad();
        return _policy.Unroll(_finalObservationBlock, _state.Select(_finalEnv), _finalStart).Values[0, 0].item<float>();
    }

    /// <summary>The PPO update: epochs over minibatches of whole environments; returns the loss scalars.</summary>
    private Dictionary<string, double> Update(RecurrentState initialState, Tensor advantages, Tensor returns)
    {
        var s = _settings;
        var environments = Enumerable.Range(0, s.NumEnvs).ToArray();
        var clipFractions = new List<double>();
        double policyLoss = 0, valueLoss = 0, entropy = 0, oldApproxKl = 0, approxKl = 0;
        for (var epoch = 0; epoch < s.UpdateEpochs; epoch++)
        {
            Shuffle(environments);
            for (var start = 0; start < s.NumEnvs; start += s.EnvsPerMinibatch)
            {
                using var minibatch = NewDisposeScope();
                var index = tensor(environments.AsSpan(start, s.EnvsPerMinibatch).ToArray().Select(e => (long)e).ToArray());
                var output = _policy.Unroll(_observations.index_select(1, index), initialState.Select(index), _starts.index_select(1, index));
                var minibatchIndex = start / s.EnvsPerMinibatch;
                var inputs = new PpoLossInputs(environments[start..(start + s.EnvsPerMinibatch)], _actions, _logprobs, advantages, returns, _values,
                    s.ClipCoef, s.EntCoef, s.VfCoef, s.NormAdv, s.ClipVloss);
                var (loss, values) = _fusedOptimizer is not null
                    ? PpoLoss.Compute(output.Logits, output.Values, inputs)
                    : PpoLoss.ComputeWithLibTorch(output.Logits, output.Values, inputs, index);
                RequireFinite("loss", values.Loss, epoch, minibatchIndex);
                if (_fusedOptimizer is not null)
                {
                    _fusedOptimizer.ZeroGrad();
                    loss.backward();
                    RequireFinite("gradient norm", _fusedOptimizer.Step(s.MaxGradNorm), epoch, minibatchIndex);
                }
                else
                {
                    _optimizer!.zero_grad();
                    loss.backward();
                    var gradientNorm = nn.utils.clip_grad_norm_(_policy.parameters(), s.MaxGradNorm);
                    RequireFinite("gradient norm", gradientNorm, epoch, minibatchIndex);
                    _optimizer.step();
                }
                (oldApproxKl, approxKl) = (values.OldApproxKl, values.ApproxKl);
                clipFractions.Add(values.ClipFraction);
                (policyLoss, valueLoss, entropy) = (values.PolicyLoss, values.ValueLoss, values.Entropy);
            }
            if (s.TargetKl is { } targetKl && approxKl > targetKl)
            {
                break;
            }
        }
        return new Dictionary<string, double>
        {
            [PpoMetricKeys.PolicyLoss] = policyLoss,
            [PpoMetricKeys.ValueLoss] = valueLoss,
            [PpoMetricKeys.Entropy] = entropy,
            [PpoMetricKeys.OldApproxKl] = oldApproxKl,
            [PpoMetricKeys.ApproxKl] = approxKl,
            [PpoMetricKeys.ClipFrac] = clipFractions.Average(),
        };
    }

    /// <summary>1 − Var(returns − values) / Var(returns): how much of the returns' variance the rollout's values explain (NaN when the returns do not vary).</summary>
    public static double ExplainedVariance(Tensor values, Tensor returns)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(returns);
        using var scope = NewDisposeScope();
        var variance = returns.flatten().var(unbiased: false).item<float>();
        return variance == 0 ? double.NaN : 1 - returns.sub(values).flatten().var(unbiased: false).item<float>() / variance;
    }

    /// <summary>Fisher–Yates with the minibatch stream.</summary>
    private void Shuffle(int[] items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = _minibatchOrder.NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Copies host floats into a contiguous CPU tensor of the same element count.</summary>
    private static void CopyInto(Tensor destination, ReadOnlySpan<float> source) =>
        MemoryMarshal.AsBytes(source).CopyTo(destination.bytes);

    public void Dispose()
    {
        _optimizer?.Dispose();
        _fusedOptimizer?.Dispose();
        _actionGenerator.Dispose();
        foreach (var row in _rows)
        {
            row.Dispose();
        }
        foreach (var t in new[] { _observations, _starts, _actions, _logprobs, _rewards, _values, _truncatedValues, _nextObservation, _nextStart, _nextObservationBlock, _nextStartBlock, _finalObservationBlock, _finalEnv, _finalStart })
        {
            t.Dispose();
        }
        _state.Dispose();
    }
}

/// <summary>
/// Row t of every rollout tensor, as views shaped for what is copied into them: [E, C, H, W]
/// observations, [E] starts, rewards and truncation values, [E, 1] actions and log-probabilities
/// (as sampled), [1, E] values (as the policy returns them).
/// </summary>
internal readonly record struct RolloutRow(Tensor Observation, Tensor Start, Tensor Action, Tensor Logprob, Tensor Reward, Tensor Value, Tensor TruncatedValue)
{
    /// <summary>Disposes the views (not the tensors they view).</summary>
    public void Dispose()
    {
        foreach (var view in new[] { Observation, Start, Action, Logprob, Reward, Value, TruncatedValue })
        {
            view.Dispose();
        }
    }
}
