using System.Diagnostics;
using System.Globalization;
using System.Text;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Evaluation;
using Telos.Lab.Experiments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Reports;
using Telos.Lab.Runs;
using Telos.Lab.Signatures;
using Telos.Lab.Sweeps;
using Telos.Learning.Native;
using Telos.Learning.Planning;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;
using Telos.Randomness;
using static TorchSharp.torch;

namespace Telos.Lab.Search;

/// <summary>Settings of <see cref="SearchTrainingExperiment"/>.</summary>
/// <param name="Env">The training distribution (<c>maze/train</c>).</param>
/// <param name="EvalEnv">The held-out distribution evaluated after training (<c>maze/test</c>).</param>
/// <param name="Parameters">Distribution parameters for both, as the family declares them.</param>
/// <param name="EvalEpisodes">Episodes per evaluated distribution and agent, each on its own level.</param>
/// <param name="EvalSimulations">The budget of the "with search" agent (<c>eval_simulations</c>; 0 or absent: the training's).</param>
/// <param name="CheckpointEvery">Save every this many iterations (and at the end, and on cancellation).</param>
/// <param name="ProbeLevels">maze/test levels of the linear probes of every layer (0: no probes).</param>
/// <param name="ValueLevels">Levels per distribution whose states the value head is compared on with the true and the proxy objective (0: none).</param>
/// <param name="Policy">The network (kind cnn, or drc: its state rides in the search tree, and its thinking-time curve is measured).</param>
/// <param name="Training">The algorithm's settings (its seed is replaced by the run's; under equal compute its steps are the derived ones).</param>
/// <param name="Controls">What is held equal across budgets and the value head's goal regression (null: equal steps, none).</param>
public sealed record SearchTrainingExperimentSettings(string Env, string EvalEnv, DistributionParameters Parameters, int EvalEpisodes, int EvalSimulations, int CheckpointEvery,
    int ProbeLevels, int ValueLevels, PolicyOptions Policy, SearchTrainingSettings Training, SearchControlSettings? Controls = null)
{
    /// <summary><see cref="Controls"/>, or the default.</summary>
    public SearchControlSettings Control => Controls ?? SearchControlSettings.Default;
}

/// <summary>
/// AlphaZero-style training under an explicit search budget (<see cref="SearchTraining{TState}"/>): a feed-forward
/// CNN's (or a recurrent DRC's, whose state rides in the search tree) prior learns the Gumbel search's improved policy and its value the Monte Carlo returns, the search running
/// the true model at N simulations per move. Logs every iteration's metrics (step = environment steps, TensorBoard
/// too), checkpoints everything the next iteration reads (so <c>telos resume</c> continues to the same metrics), then
/// measures through the one evaluation path, on the training and the held-out distribution, the network alone (its
/// prior's greedy action) and the network with search at the budget; and on the maze, the signatures: linear probes
/// of every layer (cheese cell, next k actions) and the value head against the true and the proxy (corner) objective;
/// for the DRC also the network alone's success at 0, 1, 2, 4, 8 thinking steps (<c>thinking/kK/DIST/…</c>).
/// </summary>
/// <remarks>Checkpoints carry the <c>ppo</c> sidecar (<see cref="PolicyCheckpointMetadata"/>), so <c>telos eval --agent RUN</c> evaluates the network alone.</remarks>
public sealed class SearchTrainingExperiment : Experiment<SearchTrainingExperimentSettings>, ISweepAnalysis
{
    /// <summary>The kind its runs carry.</summary>
    public const string KindName = "search-train";

    public override string Kind => KindName;

    public override string Description => "AlphaZero-style training on Gumbel search targets at a budget of N simulations (true model); the network alone vs with search, probes, value vs true/proxy objectives.";

    public override SearchTrainingExperimentSettings Configure(ConfigTable config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var (env, evalEnv, resolved) = PpoExperiment.ReadDistributions(config);
        var policy = config.GetString("policy", "cnn", ["cnn", "drc"]);
        var options = new PolicyOptions(Enum.Parse<PolicyKind>(policy, ignoreCase: true), config.GetInt("conv_channels", 16, 1, 256), config.GetInt("features", 128, 1, 4096));
        if (options.Kind == PolicyKind.Drc)
        {
            // The ppo kind's DRC keys and defaults.
            options = options with
            {
                DrcLayers = config.GetInt("drc_layers", options.DrcLayers, 1, 16),
                DrcTicks = config.GetInt("drc_ticks", options.DrcTicks, 1, 16),
                DrcChannels = config.GetInt("drc_channels", options.DrcChannels, 1, 256),
            };
        }
        else if (new[] { "drc_layers", "drc_ticks", "drc_channels" }.FirstOrDefault(config.Contains) is { } stray)
        {
            throw config.Error(stray, $"applies to policy = \"drc\" only (this config's policy is \"{policy}\")");
        }
        var defaults = new SearchTrainingSettings();
        var training = new SearchTrainingSettings
        {
            NumEnvs = config.GetInt("num_envs", defaults.NumEnvs, 1, 4096),
            NumSteps = config.GetInt("num_steps", defaults.NumSteps, 1, 100_000),
            TotalTimesteps = config.GetLong("total_timesteps", defaults.TotalTimesteps, 1, 10_000_000_000),
            Simulations = config.GetInt("simulations", defaults.Simulations, 1, 4096),
            MaxConsideredActions = config.GetInt("max_considered_actions", defaults.MaxConsideredActions, 1, 4096),
            GumbelScale = (float)config.GetDouble("gumbel_scale", defaults.GumbelScale, 0, 100),
            Gamma = config.GetDouble("gamma", defaults.Gamma, 0, 1),
            ReplayCapacity = config.GetInt("replay_capacity", defaults.ReplayCapacity, 1, 10_000_000),
            MinibatchSize = config.GetInt("minibatch_size", defaults.MinibatchSize, 1, 65_536),
            UpdatesPerIteration = config.GetInt("updates_per_iteration", defaults.UpdatesPerIteration, 1, 10_000),
            LearningRate = config.GetDouble("learning_rate", defaults.LearningRate, 1e-8, 1),
            AdamEps = config.GetDouble("adam_eps", defaults.AdamEps, 1e-12, 1),
            VfCoef = config.GetDouble("vf_coef", defaults.VfCoef, 0, 100),
            MaxGradNorm = config.GetDouble("max_grad_norm", defaults.MaxGradNorm, 1e-6, 1e6),
        };
        if (training.TotalTimesteps < training.BatchSize)
        {
            throw config.Error("total_timesteps", $"{training.TotalTimesteps} is less than one iteration, num_envs·num_steps = {training.BatchSize}");
        }
        (var controls, training) = SearchControls.Read(config, training);
        // 0: the training's budget (a default that follows another key must not be resolved into the config, or a sweep's axis would not reach it).
        var evalSimulations = config.GetInt("eval_simulations", 0, 0, 4096);
        var settings = new SearchTrainingExperimentSettings(env, evalEnv, resolved,
            config.GetInt("eval_episodes", 200, 1, 100_000),
            evalSimulations == 0 ? training.Simulations : evalSimulations,
            config.GetInt("checkpoint_every", 10, 1, 10_000_000),
            config.GetInt("probe_levels", 0, 0, 10_000),
            config.GetInt("value_levels", 0, 0, 10_000),
            options, training, controls);
        if (controls.ValueLabelBudgets.Count > 0 && settings.ValueLevels == 0)
        {
            throw config.Error("value_label_budgets", "the value head's regression is measured on the value_levels levels; set value_levels > 0");
        }
        if ((settings.ProbeLevels > 0 || settings.ValueLevels > 0) && EnvironmentFamilies.Of(env) is not MazeFamily)
        {
            throw config.Error(settings.ProbeLevels > 0 ? "probe_levels" : "value_levels", "the probes and the value comparison read the maze's cheese and corner; set 0 for another family");
        }
        if (settings.ProbeLevels == 1)
        {
            throw config.Error("probe_levels", "needs at least 2 levels (the probes hold some out)");
        }
        return settings;
    }

    /// <summary>Refuses a checkpoint of another network than the config's.</summary>
    public override void CheckResume(SearchTrainingExperimentSettings settings, CheckpointInfo checkpoint)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var loaded = CheckpointFiles.Load(checkpoint);
        PolicyCheckpoints.RequireArchitecture(PolicyCheckpoints.Metadata(loaded), settings.Policy, checkpoint.SidecarPath);
    }

    /// <inheritdoc/>
    public string Markdown(SweepTables tables) => new SearchBudgetAnalysis(tables).Markdown();

    /// <inheritdoc/>
    public void AddTo(HtmlReport report, SweepTables tables) => new SearchBudgetAnalysis(tables).AddTo(report);

    public override int Run(ExperimentContext context, SearchTrainingExperimentSettings settings)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(settings);
        TorchRuntime.EnsureInitialized();
        return EnvironmentFamilies.Of(settings.Env).Accept(new Training(context, settings, Kind));
    }

    private sealed class Training(ExperimentContext context, SearchTrainingExperimentSettings settings, string kind) : IFamilyOperation<int>
    {
        public int Run<TState>(IEnvironmentFamily<TState> family)
            where TState : struct
        {
            var s = settings.Training with { Seed = context.Seed };
            var levels = family.Distribution(settings.Env, settings.Parameters);
            var (policy, trainer) = SearchTraining.Create(family, levels, s, settings.Policy);
            using (policy)
            using (trainer)
            {
                if (context.ResumeFrom is { } checkpoint)
                {
                    Restore(trainer, checkpoint);
                }
                var results = new RunResults();
                var lastSaved = trainer.Iteration;
                var clock = Stopwatch.StartNew();
                var stepsAtStart = trainer.GlobalStep;
                var improvement = new List<double>();
                var (searchSeconds, modelSeconds) = (0.0, 0.0);
                try
                {
                    while (trainer.Iteration < s.NumIterations)
                    {
                        context.CancellationToken.ThrowIfCancellationRequested();
                        var metrics = trainer.Step();
                        context.Run.LogMetrics(metrics.GlobalStep, metrics.Scalars);
                        improvement.Add(metrics.Scalars[SearchTrainingMetricKeys.PolicyImprovement]);
                        (searchSeconds, modelSeconds) = (searchSeconds + metrics.SearchSeconds, modelSeconds + metrics.ModelSeconds);
                        if (metrics.Iteration % settings.CheckpointEvery == 0 || metrics.Iteration == s.NumIterations)
                        {
                            Save(policy, trainer);
                            lastSaved = metrics.Iteration;
                        }
                        var detail = metrics.Scalars.TryGetValue(SearchTrainingMetricKeys.SuccessRate, out var success)
                            ? string.Create(CultureInfo.InvariantCulture, $"n={s.Simulations}, success {success:P0}, SPS {metrics.Scalars[SearchTrainingMetricKeys.Sps]:F0}")
                            : string.Create(CultureInfo.InvariantCulture, $"n={s.Simulations}, SPS {metrics.Scalars[SearchTrainingMetricKeys.Sps]:F0}");
                        context.Progress.Report(new ProgressUpdate(kind, metrics.GlobalStep, (long)s.NumIterations * s.BatchSize, detail));
                    }
                }
                catch (PpoDivergedException diverged)
                {
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
                var trainSeconds = clock.Elapsed.TotalSeconds;
                var trainedSteps = trainer.GlobalStep - stepsAtStart;
                // Wall-clock figures of this process's share of the run (a resumed run times only what it trained).
                results.Add("time/train_seconds", trainSeconds).Add("time/train_sps", trainedSteps / Math.Max(trainSeconds, 1e-9));
                if (modelSeconds > 0)
                {
                    // The searches' wall-clock over their model calls' (environment steps and one forward pass per wave): 1 would be a search costing nothing beyond its leaves.
                    results.Add("time/search_seconds", searchSeconds).Add("time/search_over_model", searchSeconds / modelSeconds);
                }
                SearchControls.AddResults(results, settings.Control, s);
                if (improvement.Count > 0)
                {
                    results.Add("search/policy_improvement", improvement.Average()).Add("search/policy_improvement_lowest_iteration", improvement.Min());
                }

                clock.Restart();
                var evaluations = new List<(string Agent, EvaluationSummary Summary)>();
                foreach (var distribution in settings.EvalEnv == settings.Env ? new[] { settings.Env } : [settings.Env, settings.EvalEnv])
                {
                    var network = AgentEvaluations.EvaluatePolicy(family, policy, settings.Policy, distribution, settings.Parameters, settings.EvalEpisodes, context.Seed);
                    using var searchAgent = new PolicySearchAgent<TState>(policy, AgentEvaluations.PolicyLanes, settings.EvalSimulations, $"search-{settings.EvalSimulations}", (float)s.Gamma);
                    var search = AgentEvaluation.Evaluate(searchAgent, family, distribution, settings.Parameters, AgentEvaluations.LevelSeeds(context.Seed, settings.EvalEpisodes),
                        Seeds.Derive(context.Seed, "eval")).Summary;
                    EvaluationReport.AddTo(results, network, "network");
                    EvaluationReport.AddTo(results, search, "search");
                    evaluations.Add(("network alone", network));
                    evaluations.Add(($"with search, n = {settings.EvalSimulations}", search));
                    if (policy.StateSize > 0)
                    {
                        // The thinking-time signature: the network alone with K extra recurrent steps on each episode's first observation (K = 0 is network/…).
                        foreach (var k in PlanningSignatures.DefaultThinkingSteps)
                        {
                            var thinking = AgentEvaluations.EvaluatePolicy(family, policy, settings.Policy, distribution, settings.Parameters, settings.EvalEpisodes, context.Seed, thinkingSteps: k);
                            EvaluationReport.AddTo(results, thinking, string.Create(CultureInfo.InvariantCulture, $"thinking/k{k}"));
                            evaluations.Add((string.Create(CultureInfo.InvariantCulture, $"network alone, {k} thinking steps"), thinking));
                        }
                    }
                }
                results.Add("time/eval_seconds", clock.Elapsed.TotalSeconds);

                var signatures = new StringBuilder();
                if (family is IEnvironmentFamily<MazeState> maze && (settings.ProbeLevels > 0 || settings.ValueLevels > 0))
                {
                    clock.Restart();
                    MazeSignatures(maze, policy, (float)s.Gamma, results, signatures);
                    results.Add("time/signature_seconds", clock.Elapsed.TotalSeconds);
                }
                context.Run.WriteResults(results);
                context.Run.WriteReport(Report(s, trainer.GlobalStep, trainSeconds, evaluations, signatures.ToString()));
            }
            return 0;
        }

        /// <summary>Probes of every layer on the network's own maze/test episodes, and the value head against the true and the proxy objective's values.</summary>
        private void MazeSignatures(IEnvironmentFamily<MazeState> family, ActorCritic policy, float gamma, RunResults results, StringBuilder report)
        {
            var size = settings.Parameters["size"] ?? MazeDistribution.DefaultSize;
            if (settings.ProbeLevels > 0)
            {
                var seeds = AgentEvaluations.LevelSeeds(Seeds.Derive(context.Seed, "probes"), settings.ProbeLevels);
                var rows = PlanningSignatures.ProbePolicy(family, "network", policy, "maze/test", settings.Parameters, seeds, Seeds.Derive(context.Seed, "eval"),
                    [PlanningSignatures.CheeseCell(size)], ProbeSettings.Default(Seeds.Derive(context.Seed, "probe-split")));
                report.Append("## Linear probes of the network alone (maze/test episodes, held-out levels)\n\n| layer | target | accuracy | majority baseline |\n|---|---|---:|---:|\n");
                foreach (var row in rows)
                {
                    var name = $"probe/{row.Point}/{row.Target.Replace(' ', '_')}";
                    results.Add(name + "/accuracy", row.HeldOutAccuracy).Add(name + "/baseline", row.MajorityBaseline);
                    report.Append(CultureInfo.InvariantCulture, $"| {row.Point} | {row.Target} | {row.HeldOutAccuracy:F3} | {row.MajorityBaseline:F3} |\n");
                }
                report.Append('\n');
            }
            if (settings.ValueLevels > 0)
            {
                report.Append("## The value head against the true and the proxy objective (EPIC: Pearson distance over every open cell)\n\n| distribution | to the true objective's values | to the proxy's (corner) |\n|---|---:|---:|\n");
                var measured = new[] { settings.Env, settings.EvalEnv }.Distinct().Select(d => (d, (IReadOnlyList<Maze>)[.. AgentEvaluations.LevelSeeds(Seeds.Derive(context.Seed, "value/" + d), settings.ValueLevels)
                    .Select(seed => (Maze)family.Distribution(d, settings.Parameters).Level(seed))])).ToArray();
                foreach (var (distribution, levels) in measured)
                {
                    var comparison = ValueHeadComparison.Compare(policy, levels, gamma);
                    var key = distribution.Replace('/', '_');
                    results.Add($"value/{key}/epic_true", comparison.ToTrue).Add($"value/{key}/epic_proxy", comparison.ToProxy);
                    report.Append(CultureInfo.InvariantCulture, $"| {distribution} | {comparison.ToTrue:F3} | {comparison.ToProxy:F3} |\n");
                }
                report.Append("\nThe objectives' values are the discounted return of walking the shortest path to the cheese (true) or to the top-right corner (proxy); 0: ranks states alike, √½ ≈ 0.707: unrelated.\n\n");
                if (settings.Control.ValueLabelBudgets.Count > 0)
                {
                    ValueRegression(family, policy, gamma, measured, results, report);
                }
            }
        }

        /// <summary>The value head's goal regression on k labelled maze/test states (<see cref="ValueHeadRegression"/>), measured on the value comparison's levels.</summary>
        private void ValueRegression(IEnvironmentFamily<MazeState> family, ActorCritic policy, float gamma, IReadOnlyList<(string, IReadOnlyList<Maze>)> measured, RunResults results, StringBuilder report)
        {
            var regression = SearchControls.Regression(settings.Control, Seeds.Derive(context.Seed, "value-regression/labels"), Seeds.Derive(context.Seed, "value-regression/anchor"));
            var points = ValueHeadRegression.Run(family, policy, settings.EvalEnv, settings.Env, settings.Parameters, measured, gamma, regression);
            report.Append(CultureInfo.InvariantCulture, $"## Goal regression of the value head on k labelled {settings.EvalEnv} states (anchor λ = {regression.AnchorWeight} on {regression.AnchorStates} {settings.Env} states)\n\n| k | labels on the cheese | distribution | EPIC to the true objective | to the proxy |\n|---:|---:|---|---:|---:|\n");
            foreach (var point in points)
            {
                var key = SearchBudgetAnalysis.RegressionResult(point.Budget, point.Distribution);
                results.Add(key + "/epic_true", point.Distances.ToTrue).Add(key + "/epic_proxy", point.Distances.ToProxy);
                // The labels and the fit to them are the same whatever the head is then measured on: written once per k.
                if (point.Distribution == measured[0].Item1)
                {
                    var labels = SearchBudgetAnalysis.RegressionLabelsResult(point.Budget);
                    results.Add(labels + "/goal_labels", point.GoalLabels);
                    if (point.LabelErrorAfter is { } after)
                    {
                        results.Add(labels + "/label_error_before", point.LabelErrorBefore!.Value).Add(labels + "/label_error_after", after);
                    }
                }
                report.Append(CultureInfo.InvariantCulture, $"| {point.Budget} | {point.GoalLabels} | {point.Distribution} | {point.Distances.ToTrue:F3} | {point.Distances.ToProxy:F3} |\n");
            }
            report.Append('\n');
        }

        private void Restore<TState>(SearchTraining<TState> trainer, CheckpointInfo checkpoint)
            where TState : struct
        {
            using var scope = NewDisposeScope();
            using var loaded = context.Run.LoadCheckpoint(checkpoint);
            var metadata = PolicyCheckpoints.Metadata(loaded);
            PolicyCheckpoints.RequireArchitecture(metadata, settings.Policy, checkpoint.SidecarPath);
            trainer.RestoreCheckpoint(loaded.Tensors, metadata.Training, checkpoint.TensorPath);
            context.Run.Log($"restored iteration {trainer.Iteration} (step {trainer.GlobalStep}) from {Path.GetFileName(checkpoint.TensorPath)}");
        }

        private void Save<TState>(ActorCritic policy, SearchTraining<TState> trainer)
            where TState : struct
        {
            using var scope = NewDisposeScope();
            var (tensors, progress) = trainer.CaptureCheckpoint();
            var o = policy.Observation;
            var values = settings.Parameters.Names.ToDictionary(n => n, n => settings.Parameters[n]!.Value, StringComparer.Ordinal);
            context.Run.SaveCheckpoint(trainer.GlobalStep, tensors, new PolicyCheckpointMetadata(settings.Policy, [o.Channels, o.Height, o.Width], policy.Actions, settings.Env, values, progress));
        }

        private static string Architecture(PolicyOptions policy) => policy.Kind == PolicyKind.Drc
            ? string.Create(CultureInfo.InvariantCulture, $"DRC({policy.DrcLayers}, {policy.DrcTicks}) (drc_channels {policy.DrcChannels})")
            : policy.Kind.ToString().ToLowerInvariant();

        private string Report(SearchTrainingSettings s, long steps, double seconds, IReadOnlyList<(string Agent, EvaluationSummary Summary)> evaluations, string signatures)
        {
            var text = new StringBuilder();
            text.Append("# search-train\n\n");
            text.Append(CultureInfo.InvariantCulture,
                $"A {Architecture(settings.Policy)} network (conv_channels {settings.Policy.ConvChannels}, features {settings.Policy.Features}) trained on Gumbel search targets at n = {s.Simulations} simulations per move with the true model, on {settings.Env} ({settings.Parameters}): {steps} environment steps ({s.NumIterations} iterations of {s.NumEnvs} × {s.NumSteps}; {SearchControls.Describe(settings.Control)}, {SearchCompute.Rows(s)} network rows), seed {context.Seed}, {seconds:F1} s of training in this process.\n\n");
            text.Append("| agent | distribution | success | proxy | mean return | mean steps |\n|---|---|---:|---:|---:|---:|\n");
            foreach (var (agent, e) in evaluations)
            {
                text.Append(CultureInfo.InvariantCulture, $"| {agent} | {e.Distribution} | {e.Success} ({e.Success.Value:P1}) | {e.Proxy} ({e.Proxy.Value:P1}) | {e.MeanReturn:G4} | {e.MeanSteps:G4} |\n");
            }
            text.Append("\nThe network alone takes its prior's greedy action; with search, a deterministic Gumbel search (scale 0) with the network's prior and value picks each action. Proxy counts only levels where the proxy goal differs from the true one.");
            text.Append(settings.Policy.Kind == PolicyKind.Drc
                ? " The DRC's state rides along every search path from the lane's running state; with K thinking steps the network alone sees each episode's first observation K extra times before its first action.\n\n"
                : "\n\n");
            text.Append(signatures);
            return text.ToString();
        }
    }
}
