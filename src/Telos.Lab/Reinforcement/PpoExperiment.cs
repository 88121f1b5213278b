using System.Globalization;
using System.Text;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Evaluation;
using Telos.Lab.Experiments;
using Telos.Lab.Reports;
using Telos.Lab.Runs;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using static TorchSharp.torch;

namespace Telos.Lab.Reinforcement;

/// <summary>Settings of <see cref="PpoExperiment"/>.</summary>
/// <param name="Env">The training distribution (<c>maze/train</c>).</param>
/// <param name="EvalEnv">The held-out distribution evaluated after training (<c>maze/test</c>).</param>
/// <param name="Parameters">Distribution parameters for both (<c>size</c>, <c>step_limit</c>, …), as the family declares them.</param>
/// <param name="EvalEpisodes">Greedy episodes per evaluated distribution, each on its own level.</param>
/// <param name="CheckpointEvery">Save the policy every this many iterations (and at the end, and on cancellation).</param>
/// <param name="Policy">The network.</param>
/// <param name="Ppo">The algorithm's settings (its seed is replaced by the run's).</param>
public sealed record PpoExperimentSettings(string Env, string EvalEnv, DistributionParameters Parameters, int EvalEpisodes, int CheckpointEvery, PolicyOptions Policy, PpoSettings Ppo);

/// <summary>
/// Trains a recurrent (or feed-forward) PPO policy on a task distribution, logs CleanRL's metric keys
/// per iteration (step = environment steps), checkpoints the policy, and evaluates it greedily on the
/// training and the held-out distribution through <see cref="AgentEvaluation"/>, as any agent is.
/// </summary>
/// <remarks>
/// Checkpoints (every <c>checkpoint_every</c> iterations, at the end and on cancellation) hold everything
/// the next iteration reads (<see cref="RecurrentPpo{TState}.CaptureCheckpoint"/>), so <c>telos resume</c>
/// continues to the same metrics and weights as an uninterrupted run. A NaN or infinite loss or gradient
/// norm stops training without saving: the newest checkpoint is the last good state, and the run fails
/// with a message naming the iteration, epoch and minibatch.
/// </remarks>
public sealed class PpoExperiment : Experiment<PpoExperimentSettings>
{
    /// <summary>The kind its runs carry in the run store (<see cref="RunRecord.Kind"/>).</summary>
    public const string KindName = "ppo";

    public override string Kind => KindName;

    public override string Description => "Recurrent PPO (CleanRL ppo_atari_lstm) on a task distribution; evaluates the policy on a held-out distribution.";

    public override PpoExperimentSettings Configure(ConfigTable config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var (env, evalEnv, resolved) = ReadDistributions(config);
        var (policy, ppo) = ReadTraining(config);
        var evalEpisodes = config.GetInt("eval_episodes", 200, 1, 100_000);
        var checkpointEvery = config.GetInt("checkpoint_every", 10, 1, 10_000_000);
        return new PpoExperimentSettings(env, evalEnv, resolved, evalEpisodes, checkpointEvery, policy, ppo);
    }

    /// <summary>
    /// The distribution keys of a training run's config: <c>env</c> [maze/train], <c>eval_env</c> [<see cref="DefaultEvalEnv"/>], and the
    /// <c>[params]</c> the family declares (absent ones keep the family's defaults), refused now if the distributions reject them,
    /// before any run directory exists.
    /// </summary>
    /// <exception cref="TelosInputException">An unknown distribution, one of another family, or parameters out of range.</exception>
    public static (string Env, string EvalEnv, DistributionParameters Parameters) ReadDistributions(ConfigTable config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var known = EnvironmentFamilies.Distributions.Select(d => d.Name).ToArray();
        var env = config.GetString("env", "maze/train", known);
        var evalEnv = config.GetString("eval_env", DefaultEvalEnv(env), known);
        if (EnvironmentFamilies.Of(env) != EnvironmentFamilies.Of(evalEnv))
        {
            throw config.Error("eval_env", $"'{evalEnv}' is not of the family of env '{env}'");
        }
        // Distribution parameters: those the family declares, as given (absent ones keep the family's defaults).
        var parameters = new List<(string, int?)>();
        var table = config.Table("params");
        foreach (var declared in EnvironmentFamilies.Of(env).Parameters)
        {
            if (table.Contains(declared.Name))
            {
                parameters.Add((declared.Name, table.GetInt(declared.Name, declared.Default ?? declared.Min, declared.Min, declared.Max)));
            }
        }
        var resolved = DistributionParameters.Of([.. parameters]);
        EnvironmentFamilies.Of(env).Accept(new DistributionCheck(env, evalEnv, resolved));
        return (env, evalEnv, resolved);
    }

    /// <summary>
    /// The policy and PPO keys of a <c>ppo</c> config (<c>policy</c>, <c>conv_channels</c>, <c>features</c>, <c>lstm_size</c>,
    /// <c>drc_*</c>, CleanRL's PPO names, <c>lstm_kernel</c>, <c>update_kernel</c>, <c>encoder_kernel</c>), read from <paramref name="config"/> or any table of that shape (the
    /// <c>maze-shift</c> experiment's <c>[ppo-lstm]</c>, <c>[ppo-drc]</c>, …) with the <c>ppo</c> experiment's defaults.
    /// </summary>
    /// <param name="config">The table to read.</param>
    /// <param name="policy">The policy kind when the table does not choose it (null: its <c>policy</c> key, default <c>lstm</c>).</param>
    /// <exception cref="TelosInputException">A key out of range, or minibatches that do not divide the environments, or fewer steps than one rollout.</exception>
    public static (PolicyOptions Policy, PpoSettings Ppo) ReadTraining(ConfigTable config, PolicyKind? policy = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var kind = policy ?? Enum.Parse<PolicyKind>(config.GetString("policy", "lstm", PolicyNames), ignoreCase: true);
        var policyDefaults = new PolicyOptions();
        var options = new PolicyOptions(kind, config.GetInt("conv_channels", 16, 1, 256), config.GetInt("features", 128, 1, 4096), config.GetInt("lstm_size", 128, 1, 4096),
            config.GetInt("drc_layers", policyDefaults.DrcLayers, 1, 16), config.GetInt("drc_ticks", policyDefaults.DrcTicks, 1, 16), config.GetInt("drc_channels", policyDefaults.DrcChannels, 1, 256));
        var defaults = new PpoSettings();
        var targetKl = config.GetDouble("target_kl", 0, 0, 10);
        var ppo = new PpoSettings
        {
            NumEnvs = config.GetInt("num_envs", defaults.NumEnvs, 1, 4096),
            NumSteps = config.GetInt("num_steps", defaults.NumSteps, 1, 100_000),
            TotalTimesteps = config.GetLong("total_timesteps", 100_000, 1, 10_000_000_000),
            LearningRate = config.GetDouble("learning_rate", defaults.LearningRate, 1e-8, 1),
            AnnealLr = config.GetBool("anneal_lr", defaults.AnnealLr),
            AdamEps = config.GetDouble("adam_eps", defaults.AdamEps, 1e-12, 1),
            Gamma = config.GetDouble("gamma", defaults.Gamma, 0, 1),
            GaeLambda = config.GetDouble("gae_lambda", defaults.GaeLambda, 0, 1),
            NumMinibatches = config.GetInt("num_minibatches", defaults.NumMinibatches, 1, 4096),
            UpdateEpochs = config.GetInt("update_epochs", defaults.UpdateEpochs, 1, 1000),
            NormAdv = config.GetBool("norm_adv", defaults.NormAdv),
            ClipCoef = config.GetDouble("clip_coef", defaults.ClipCoef, 1e-6, 10),
            ClipVloss = config.GetBool("clip_vloss", defaults.ClipVloss),
            EntCoef = config.GetDouble("ent_coef", defaults.EntCoef, 0, 10),
            VfCoef = config.GetDouble("vf_coef", defaults.VfCoef, 0, 100),
            MaxGradNorm = config.GetDouble("max_grad_norm", defaults.MaxGradNorm, 1e-6, 1e6),
            TargetKl = targetKl > 0 ? targetKl : null,
            LstmKernel = Enum.Parse<LstmKernel>(config.GetString("lstm_kernel", "libtorch", LstmKernelNames), ignoreCase: true),
            UpdateKernel = Enum.Parse<UpdateKernel>(config.GetString("update_kernel", "libtorch", UpdateKernelNames), ignoreCase: true),
            EncoderKernel = Enum.Parse<EncoderKernel>(config.GetString("encoder_kernel", "libtorch", EncoderKernelNames), ignoreCase: true),
        };
        // The getters check ranges; these are the settings that constrain each other.
        if (ppo.NumEnvs % ppo.NumMinibatches != 0)
        {
            throw config.Error("num_minibatches", $"{ppo.NumMinibatches} must divide num_envs {ppo.NumEnvs} (minibatches are split by environment)");
        }
        if (ppo.TotalTimesteps < ppo.BatchSize)
        {
            throw config.Error("total_timesteps", $"{ppo.TotalTimesteps} is less than one rollout, num_envs·num_steps = {ppo.BatchSize}");
        }
        return (options, ppo);
    }

    /// <summary>Test seam: called after each iteration (after its checkpoint) with the policy and the iteration, e.g. to inject a bad weight.</summary>
    internal Action<ActorCritic, int>? AfterIteration { get; init; }

    /// <summary>The LSTM kernels a config can name (<see cref="LstmKernel"/>, lower-case).</summary>
    public static IReadOnlyList<string> LstmKernelNames { get; } = [.. Enum.GetNames<LstmKernel>().Select(n => n.ToLowerInvariant())];

    /// <summary>The update kernels a config can name (<see cref="UpdateKernel"/>, lower-case).</summary>
    public static IReadOnlyList<string> UpdateKernelNames { get; } = [.. Enum.GetNames<UpdateKernel>().Select(n => n.ToLowerInvariant())];

    /// <summary>The encoder kernels a config can name (<see cref="EncoderKernel"/>, lower-case).</summary>
    public static IReadOnlyList<string> EncoderKernelNames { get; } = [.. Enum.GetNames<EncoderKernel>().Select(n => n.ToLowerInvariant())];

    /// <summary>The policy kinds a config can name (<see cref="PolicyKind"/>, lower-case).</summary>
    public static IReadOnlyList<string> PolicyNames { get; } = [.. Enum.GetNames<PolicyKind>().Select(n => n.ToLowerInvariant())];

    /// <summary>The held-out distribution evaluated when the config names none: <c>FAMILY/test</c> for <c>FAMILY/train</c> when it exists, else the training distribution.</summary>
    public static string DefaultEvalEnv(string env)
    {
        ArgumentNullException.ThrowIfNull(env);
        var test = env.EndsWith("/train", StringComparison.Ordinal) ? env[..^"/train".Length] + "/test" : env;
        return EnvironmentFamilies.Distributions.Any(d => d.Name == test) ? test : env;
    }

    /// <summary>Refuses a checkpoint of another policy kind or size than the config's, or one that is not a ppo checkpoint.</summary>
    public override void CheckResume(PpoExperimentSettings settings, CheckpointInfo checkpoint)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var loaded = CheckpointFiles.Load(checkpoint);
        PolicyCheckpoints.RequireArchitecture(PolicyCheckpoints.Metadata(loaded), settings.Policy, checkpoint.SidecarPath);
    }

    public override int Run(ExperimentContext context, PpoExperimentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(settings);
        TorchRuntime.EnsureInitialized();
        return EnvironmentFamilies.Of(settings.Env).Accept(new Training(context, settings, Kind, AfterIteration));
    }

    private sealed class DistributionCheck(string env, string evalEnv, DistributionParameters parameters) : IFamilyOperation<bool>
    {
        public bool Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            family.Distribution(env, parameters);
            family.Distribution(evalEnv, parameters);
            return true;
        }
    }

    private sealed class Training(ExperimentContext context, PpoExperimentSettings settings, string kind, Action<ActorCritic, int>? afterIteration) : IFamilyOperation<int>
    {
        public int Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var ppo = settings.Ppo with { Seed = context.Seed };
            var levels = family.Distribution(settings.Env, settings.Parameters);
            var (policy, trainer) = RecurrentPpo.Create(family, levels, ppo, settings.Policy);
            using (policy)
            using (trainer)
            {
                if (context.ResumeFrom is { } checkpoint)
                {
                    Restore(trainer, checkpoint);
                }
                var started = DateTimeOffset.UtcNow;
                var lastSaved = trainer.Iteration;
                try
                {
                    while (trainer.Iteration < ppo.NumIterations)
                    {
                        context.CancellationToken.ThrowIfCancellationRequested();
                        var metrics = trainer.Step();
                        context.Run.LogMetrics(metrics.GlobalStep, metrics.Scalars);
                        if (metrics.Iteration % settings.CheckpointEvery == 0 || metrics.Iteration == ppo.NumIterations)
                        {
                            Save(policy, trainer);
                            lastSaved = metrics.Iteration;
                        }
                        var detail = metrics.Scalars.TryGetValue(PpoMetricKeys.EpisodicReturn, out var r)
                            ? string.Create(CultureInfo.InvariantCulture, $"return {r:G4}, SPS {metrics.Scalars[PpoMetricKeys.Sps]:F0}")
                            : string.Create(CultureInfo.InvariantCulture, $"SPS {metrics.Scalars[PpoMetricKeys.Sps]:F0}");
                        context.Progress.Report(new ProgressUpdate(kind, metrics.GlobalStep, (long)ppo.NumIterations * ppo.BatchSize, detail));
                        afterIteration?.Invoke(policy, metrics.Iteration);
                    }
                }
                catch (PpoDivergedException diverged)
                {
                    // Nothing is saved: the newest checkpoint is the last good state.
                    var last = context.Run.LatestCheckpoint();
                    context.Run.Log($"training diverged: {diverged.Message}; newest checkpoint: {(last is null ? "none" : $"step {last.Step}")}");
                    throw;
                }
                catch (OperationCanceledException)
                {
                    if (trainer.Iteration > lastSaved)
                    {
                        Save(policy, trainer);
                    }
                    throw;
                }
                var elapsed = DateTimeOffset.UtcNow - started;
                var train = AgentEvaluations.EvaluatePolicy(family, policy, settings.Policy, settings.Env, settings.Parameters, settings.EvalEpisodes, context.Seed);
                // A policy trained on its evaluation distribution is evaluated there once.
                EvaluationSummary[] evaluations = settings.EvalEnv == settings.Env
                    ? [train]
                    : [train, AgentEvaluations.EvaluatePolicy(family, policy, settings.Policy, settings.EvalEnv, settings.Parameters, settings.EvalEpisodes, context.Seed)];
                context.Run.WriteReport(Report(ppo, trainer.GlobalStep, elapsed, evaluations));
                PpoRunReport.Write(context.Run, settings, evaluations);
            }
            return 0;
        }

        private void Restore<TState>(RecurrentPpo<TState> trainer, CheckpointInfo checkpoint)
            where TState : struct
        {
            using var scope = NewDisposeScope();
            using var loaded = context.Run.LoadCheckpoint(checkpoint);
            var metadata = PolicyCheckpoints.Metadata(loaded);
            PolicyCheckpoints.RequireArchitecture(metadata, settings.Policy, checkpoint.SidecarPath);
            trainer.RestoreCheckpoint(loaded.Tensors, metadata.Training, checkpoint.TensorPath);
            context.Run.Log($"restored iteration {trainer.Iteration} (step {trainer.GlobalStep}) from {Path.GetFileName(checkpoint.TensorPath)}");
        }

        private void Save<TState>(ActorCritic policy, RecurrentPpo<TState> trainer)
            where TState : struct =>
            PolicyCheckpoints.Save(context.Run, policy, trainer, settings.Policy, settings.Env, settings.Parameters);

        private string Report(PpoSettings ppo, long steps, TimeSpan elapsed, IReadOnlyList<EvaluationSummary> evaluations)
        {
            var text = new StringBuilder();
            text.Append("# ppo\n\n");
            text.Append(CultureInfo.InvariantCulture,
                $"{settings.Policy.Kind} policy trained by PPO on {settings.Env} ({settings.Parameters}), {steps} environment steps ({ppo.NumIterations} iterations of {ppo.NumEnvs} × {ppo.NumSteps}), seed {context.Seed}, {elapsed.TotalSeconds:F1} s.\n\n");
            text.Append("| distribution | success | proxy | mean return | mean steps |\n|---|---:|---:|---:|---:|\n");
            foreach (var e in evaluations)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {e.Distribution} | {e.Success} ({e.Success.Value:P1}) | {e.Proxy} ({e.Proxy.Value:P1}) | {e.MeanReturn:G4} | {e.MeanSteps:G4} |\n");
            }
            text.Append("\nGreedy actions; proxy counts only levels where the proxy goal differs from the true one.\n");
            if (evaluations.Any(e => e.Counts.Count > 0))
            {
                text.Append("\n| distribution | count | mean per episode | episodes above 0 |\n|---|---|---:|---:|\n");
                foreach (var e in evaluations)
                {
                    foreach (var c in e.Counts)
                    {
                        text.Append(CultureInfo.InvariantCulture, $"| {e.Distribution} | {c.Name} | {c.Mean:G4} | {EvaluationReport.RateText(c.Positive)} |\n");
                    }
                }
            }
            return text.ToString();
        }
    }
}
