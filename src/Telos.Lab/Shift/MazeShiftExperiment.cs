using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Control;
using Telos.Lab.Evaluation;
using Telos.Lab.Experiments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Reports;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;
using Telos.Learning.Native;
using Telos.Learning.Objectives;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Learning.Reinforcement.Policies;
using Telos.Objectives;
using Telos.Planning;
using static TorchSharp.torch;

namespace Telos.Lab.Shift;

/// <summary>One learned objective of the objectives group: a signal, a form and the input it reads, which the library can train together.</summary>
/// <param name="Signal">Reward regression, preferences or demonstrations (MaxEnt IRL).</param>
/// <param name="Form">Linear, sparse, monotone or net.</param>
/// <param name="Input">The named features or the one-hot observation (linear and net only; <see cref="FormOptions.InputOf"/>).</param>
public sealed record ShiftObjective(ObjectiveSignal Signal, ObjectiveForm Form, ObjectiveInput Input)
{
    /// <summary>A form over its own input: the named features, or the one-hot observation for net.</summary>
    public ShiftObjective(ObjectiveSignal signal, ObjectiveForm form)
        : this(signal, form, OwnInput(form))
    {
    }

    /// <summary>
    /// Every objective the library trains: reward and preferences in each form; demonstrations in the linear form only (MaxEnt IRL fits a
    /// linear card); and, for reward and preferences, the linear form over the one-hot observation and the net form over the named
    /// features, so that form and input can be set against each other (a 2×2).
    /// </summary>
    public static IReadOnlyList<ShiftObjective> All { get; } =
    [
        new(ObjectiveSignal.Reward, ObjectiveForm.Linear), new(ObjectiveSignal.Reward, ObjectiveForm.Sparse),
        new(ObjectiveSignal.Reward, ObjectiveForm.Monotone), new(ObjectiveSignal.Reward, ObjectiveForm.Net),
        new(ObjectiveSignal.Preferences, ObjectiveForm.Linear), new(ObjectiveSignal.Preferences, ObjectiveForm.Sparse),
        new(ObjectiveSignal.Preferences, ObjectiveForm.Monotone), new(ObjectiveSignal.Preferences, ObjectiveForm.Net),
        new(ObjectiveSignal.Demonstrations, ObjectiveForm.Linear),
        new(ObjectiveSignal.Reward, ObjectiveForm.Linear, ObjectiveInput.Observation), new(ObjectiveSignal.Reward, ObjectiveForm.Net, ObjectiveInput.Features),
        new(ObjectiveSignal.Preferences, ObjectiveForm.Linear, ObjectiveInput.Observation), new(ObjectiveSignal.Preferences, ObjectiveForm.Net, ObjectiveInput.Features),
    ];

    /// <summary>
    /// The name configs and results use: <c>SIGNAL-FORM</c> over the form's own input (<c>reward-linear</c> reads the named
    /// features, <c>prefs-net</c> the one-hot observation, <c>demos-linear</c>), with <c>-obs</c> for a linear form over the
    /// one-hot observation (<c>reward-linear-obs</c>) and <c>-feat</c> for a net over the named features (<c>reward-net-feat</c>).
    /// </summary>
    public string Id => ObjectiveTraining.SignalNames[(int)Signal] + "-" + ObjectiveCard.FormName(Form)
        + (Input == OwnInput(Form) ? "" : Input == ObjectiveInput.Observation ? "-obs" : "-feat");

    /// <summary>Whether it reads the one-hot observation.</summary>
    public bool ReadsObservation => Input == ObjectiveInput.Observation;

    private static ObjectiveInput OwnInput(ObjectiveForm form) => form == ObjectiveForm.Net ? ObjectiveInput.Observation : ObjectiveInput.Features;
}

/// <summary>Settings of <see cref="MazeShiftExperiment"/> (the config keys are documented in experiments/maze-shift.toml and docs/maze-shift.md).</summary>
/// <param name="Agents">The cell's agent group: <c>objectives</c> (every learned objective under every planner, and the true reward) or <c>ppo-lstm</c>, <c>ppo-cnn</c>, <c>ppo-drc</c>.</param>
/// <param name="Size">Maze side (odd).</param>
/// <param name="StepLimit">Every agent's episodes are truncated here.</param>
/// <param name="Region">maze/train's cheese region (1: the corner; 5: Turner et al.).</param>
/// <param name="ProxyRegion">Side of the top-right region whose pursuit the proxy-region rate counts.</param>
/// <param name="Levels">maze/train and maze/test levels every agent is measured on.</param>
/// <param name="TrainLevels">maze/train levels the feature objectives learn from.</param>
/// <param name="StepsPerLevel">Random-walk transitions per training level.</param>
/// <param name="NetLevels">maze/train levels the network objectives learn from (the first of the same levels).</param>
/// <param name="FitSteps">Optimizer steps of reward regression and preferences.</param>
/// <param name="Pairs">Labelled segment pairs for preferences.</param>
/// <param name="DemoLevels">maze/train levels the demonstrations come from (the first of the same levels).</param>
/// <param name="IrlSteps">MaxEnt IRL's gradient steps.</param>
/// <param name="Objectives">The objectives fitted (<see cref="ShiftObjective.Id"/>).</param>
/// <param name="Planners">The hard-coded optimizers.</param>
/// <param name="MctsSimulations">Simulations per decision of the Monte-Carlo planners.</param>
/// <param name="TieTolerance">Destinations within this fraction of the best value tie, and ties are drawn at random.</param>
/// <param name="AuditLevels">Levels per distribution whose states the audits read.</param>
/// <param name="EnsembleMembers">Members of each gradient-fitted objective's seed ensemble (the objective and M − 1 refits of the same form to the same data with other initialization seeds); 1: no ensemble audit.</param>
/// <param name="FailureMargin">An objective fails under a planner when its maze/test success is more than this below the true reward's under the same planner on the same levels.</param>
/// <param name="RetargetLevels">maze/test levels of each target cell of the retargeting maps.</param>
/// <param name="SteerLevels">maze/test levels the policy's goal vectors and cheese channel are computed on.</param>
/// <param name="SteerScale">Multiple of the goal vector added when steering.</param>
/// <param name="ClampValue">Value the cheese channel is clamped to at the target.</param>
/// <param name="GemLevels">maze/test levels with a gem (<c>gems = 1</c>) the agents are retargeted to the gem on; 0: no gem retargeting.</param>
/// <param name="Ppo">Per policy kind, its network and PPO settings (<c>[ppo-lstm]</c>, <c>[ppo-cnn]</c>, <c>[ppo-drc]</c>).</param>
/// <param name="Analyses">The per-agent analyses to run (<see cref="ShiftAnalyses"/>).</param>
/// <param name="AnalysisSizes">Their sizes.</param>
/// <param name="PoliciesFrom">An earlier maze-shift sweep's run directory whose matching cell's policy a policy cell loads instead of training (<see cref="SweepPolicies"/>), or null to train.</param>
public sealed record MazeShiftSettings(string Agents, int Size, int StepLimit, int Region, int ProxyRegion, int Levels, int TrainLevels, int StepsPerLevel, int NetLevels,
    int FitSteps, int Pairs, int DemoLevels, int IrlSteps, IReadOnlyList<ShiftObjective> Objectives, IReadOnlyList<string> Planners, int MctsSimulations, double TieTolerance,
    int AuditLevels, int EnsembleMembers, double FailureMargin, int RetargetLevels, int SteerLevels, double SteerScale, float ClampValue, int GemLevels,
    IReadOnlyDictionary<PolicyKind, (PolicyOptions Policy, PpoSettings Ppo)> Ppo, IReadOnlyList<string> Analyses, ShiftAnalysisSizes AnalysisSizes, string? PoliciesFrom)
{
    /// <summary>The planning budget of <paramref name="planner"/>: the tie tolerance, and <see cref="MctsSimulations"/> for the Monte-Carlo planners.</summary>
    public PlanBudget Budget(string planner) =>
        PlanBudget.Default with { TieTolerance = TieTolerance, Simulations = Telos.Planning.Planners.All.First(p => p.Name == planner).Exact ? PlanBudget.Default.Simulations : MctsSimulations };

    /// <summary>The hard-coded agent <paramref name="planner"/> over <paramref name="objective"/> with <see cref="Budget"/>.</summary>
    public IAgent<MazeState> Planner(string planner, AgentObjective<MazeState> objective) =>
        new PlanningAgent<MazeState>(Telos.Planning.Planners.Create(planner, MazeFamily.Instance), objective, Budget(planner));
}

/// <summary>
/// The lab's main experiment: hard-coded optimizers over learned objectives and learned optimizers (PPO policies), all
/// trained on maze/train (cheese in the top-right region) and measured on maze/train and maze/test (cheese anywhere)
/// through the one evaluation path. A cell is one agent group and one seed (the seed draws every level, the data and the
/// training): the objectives group fits every (signal, form) pair on the same seed-drawn data, audits each before any
/// rollout (identifiability, disagreement with the others, oracle EPIC), runs each under every planner, and retargets the
/// planner to every cell by swapping its objective; a policy group trains PPO and retargets it by steering and clamping.
/// Across the sweep's cells it computes how well each audit predicts failure (AUC with a bootstrap interval), the
/// success/proxy bars and the retargeting maps (<see cref="MazeShiftAnalysis"/>).
/// </summary>
public sealed class MazeShiftExperiment : Experiment<MazeShiftSettings>, ISweepAnalysis
{
    /// <summary>The agent groups a cell can be.</summary>
    public static IReadOnlyList<string> AgentGroups { get; } = ["objectives", "ppo-lstm", "ppo-cnn", "ppo-drc"];

    /// <summary>The scope of the cell's level sets (<see cref="ShiftMeasurement.Levels"/>).</summary>
    public const string LevelScope = "shift";

    public override string Kind => "maze-shift";

    public override string Description => "Learned objectives under planners vs PPO policies on maze/train → maze/test: misgeneralization, zero-rollout audits and their AUC, retargeting maps.";

    public override MazeShiftSettings Configure(ConfigTable config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var agents = config.GetString("agents", "objectives", AgentGroups.ToArray());
        var size = config.GetInt("size", 7, 5, 25);
        if (size % 2 == 0)
        {
            throw config.Error("size", $"must be odd, got {size}");
        }
        var objectiveNames = ShiftObjective.All.Select(o => o.Id).ToArray();
        var objectives = config.GetStringList("objectives", objectiveNames, objectiveNames, minCount: 2);
        if (objectives.Distinct().Count() != objectives.Count)
        {
            throw config.Error("objectives", "an objective is listed twice");
        }
        var planners = config.GetStringList("planners", ["bfs", "vi"], Planners.Names.ToArray(), minCount: 1);
        if (planners.Distinct().Count() != planners.Count)
        {
            throw config.Error("planners", "a planner is listed twice");
        }
        var ppo = new Dictionary<PolicyKind, (PolicyOptions, PpoSettings)>
        {
            [PolicyKind.Lstm] = PpoExperiment.ReadTraining(config.Table("ppo-lstm"), PolicyKind.Lstm),
            [PolicyKind.Cnn] = PpoExperiment.ReadTraining(config.Table("ppo-cnn"), PolicyKind.Cnn),
            [PolicyKind.Drc] = PpoExperiment.ReadTraining(config.Table("ppo-drc"), PolicyKind.Drc),
        };
        var analyses = config.GetStringList("analyses", ShiftAnalyses.Names, ShiftAnalyses.Names.ToArray());
        if (analyses.Distinct().Count() != analyses.Count)
        {
            throw config.Error("analyses", "an analysis is listed twice");
        }
        var budgets = config.GetIntList("label_budgets", RegressionCurveSettings.DefaultBudgets, 0, 100_000, minCount: 1);
        var sizes = new ShiftAnalysisSizes(budgets,
            config.GetInt("regression_steps", 1600, 1, 1_000_000),
            config.GetInt("steps_per_label", 1, 1, 100_000),
            config.GetInt("revealed_levels", 50, 1, 10_000),
            config.GetInt("probe_levels", 100, 2, 10_000));
        var policiesFrom = config.GetString(SweepPolicies.Key, "");
        var settings = new MazeShiftSettings(
            agents, size,
            config.GetInt("step_limit", 60, 1, 100_000),
            config.GetInt("region", 1, 1, size),
            config.GetInt("proxy_region", 3, 1, size),
            config.GetInt("levels", 200, 1, 100_000),
            config.GetInt("train_levels", 100, 1, 100_000),
            config.GetInt("steps_per_level", 200, 1, 100_000),
            config.GetInt("net_levels", 30, 1, 100_000),
            config.GetInt("fit_steps", 400, 1, 1_000_000),
            config.GetInt("pairs", 500, 1, 1_000_000),
            config.GetInt("demo_levels", 30, 1, 100_000),
            config.GetInt("irl_steps", 150, 1, 1_000_000),
            [.. objectives.Select(id => ShiftObjective.All.First(o => o.Id == id))],
            planners,
            config.GetInt("mcts_simulations", 64, 1, 100_000),
            config.GetDouble("tie_tolerance", 0.01, 0, 0.5),
            config.GetInt("audit_levels", 20, 1, 10_000),
            config.GetInt("ensemble_members", 1, 1, 100),
            config.GetDouble("failure_margin", 0.2, 0, 1),
            config.GetInt("retarget_levels", 50, 1, 10_000),
            config.GetInt("steer_levels", 10, 1, 10_000),
            config.GetDouble("steer_scale", 3.0, -100, 100),
            (float)config.GetDouble("clamp_value", 5.5, -1000, 1000),
            config.GetInt("gem_levels", 0, 0, 10_000),
            ppo,
            analyses,
            sizes,
            string.IsNullOrWhiteSpace(policiesFrom) ? null : policiesFrom);
        // Checked here, once every key is read (the resolved config is complete), so a bad directory stops a sweep before any cell
        // runs: each of its cells is configured with its own seed (the sweep's base config, with [sweep], has none).
        if (settings.PoliciesFrom is { } from && agents != "objectives" && !config.Contains(SweepPlan.TableName))
        {
            SweepPolicies.Find(from, config.ToResolvedToml(), agents, settings.Region, config.GetLong("seed", 0, 0));
        }
        return settings;
    }

    public override int Run(ExperimentContext context, MazeShiftSettings settings)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(settings);
        TorchRuntime.EnsureInitialized();
        var cell = new Cell(context, settings);
        if (settings.Agents == "objectives")
        {
            cell.RunObjectives();
        }
        else
        {
            cell.RunPolicy(Enum.Parse<PolicyKind>(settings.Agents["ppo-".Length..], ignoreCase: true));
        }
        cell.Finish();
        return 0;
    }

    /// <inheritdoc/>
    public string Markdown(SweepTables tables) => new MazeShiftAnalysis(tables).Markdown();

    /// <inheritdoc/>
    public void AddTo(HtmlReport report, SweepTables tables) => new MazeShiftAnalysis(tables).AddTo(report);

    /// <summary>One cell's work and what it has measured so far.</summary>
    private sealed class Cell
    {
        private readonly ExperimentContext _context;
        private readonly MazeShiftSettings _settings;
        private readonly RunResults _results = new();
        private readonly List<EvaluationSummary> _summaries = [];
        private readonly StringBuilder _report = new();
        private readonly DistributionParameters _trainParameters;
        private readonly DistributionParameters _testParameters;
        private readonly long[] _trainLevels;
        private readonly long[] _testLevels;
        private readonly long[] _retargetLevels;
        private readonly long[] _gemLevels;
        private readonly List<(string Agent, string Handle, string What, EvaluationSummary Summary)> _gem = [];
        private readonly ulong _evalSeed;
        private readonly ShiftAnalysisContext _analysisContext;
        /// <summary>Maze/test levels whose paths the cell's report draws.</summary>
        public const int PicturedLevels = 3;

        /// <summary>The artifact holding those paths.</summary>
        public const string PathsFile = "paths.json";

        private readonly List<PicturedAgent> _pictured = [];
        private readonly List<(string Objective, double[,] Mouse)> _weightMaps = [];
        private ReportTable? _formByInput;
        private TransitionSample? _data;
        private int _stage;

        public Cell(ExperimentContext context, MazeShiftSettings settings)
        {
            _context = context;
            _settings = settings;
            _trainParameters = DistributionParameters.Of(("size", settings.Size), ("step_limit", settings.StepLimit), ("region", settings.Region));
            _testParameters = DistributionParameters.Of(("size", settings.Size), ("step_limit", settings.StepLimit));
            // Every level set is drawn from the seed: a new seed resamples the training data, the measured levels and the audits' levels.
            _trainLevels = ShiftMeasurement.Levels(context.Seed, LevelScope, "train", settings.Levels);
            _testLevels = ShiftMeasurement.Levels(context.Seed, LevelScope, "test", settings.Levels);
            _retargetLevels = ShiftMeasurement.Levels(context.Seed, LevelScope, "retarget", settings.RetargetLevels);
            _gemLevels = ShiftMeasurement.Levels(context.Seed, LevelScope, "gem", settings.GemLevels);
            _evalSeed = (ulong)context.DeriveSeed("evaluation");
            _analysisContext = new ShiftAnalysisContext(context, settings, _trainParameters, _testParameters, _trainLevels, _testLevels, null, _results, _evalSeed);
            _report.Append(CultureInfo.InvariantCulture,
                $"# maze-shift cell: {settings.Agents}, seed {context.Seed}\n\n{settings.Size}×{settings.Size} mazes, step limit {settings.StepLimit}; maze/train cheese region {settings.Region}; {settings.Levels} maze/train and {settings.Levels} maze/test levels per agent, drawn from the seed. Proxy region: the top-right {settings.ProxyRegion}×{settings.ProxyRegion} cells. Intervals: 95 % Wilson over levels.\n\n");
        }

        private ShiftAnalysisContext AnalysisContext => _analysisContext with { Data = _data };

        private void Stage(string what)
        {
            _context.CancellationToken.ThrowIfCancellationRequested();
            _context.Progress.Report(new ProgressUpdate("maze-shift", _stage++, 8, what));
            _context.Run.Log(what);
        }

        public void RunObjectives()
        {
            var s = _settings;
            var family = MazeFamily.Instance;
            var fitting = new ShiftObjectiveFitting("maze/train", _trainParameters, s.TrainLevels, s.StepsPerLevel, s.NetLevels, s.FitSteps, s.Pairs,
                s.DemoLevels, s.IrlSteps, _context.DeriveSeed("objectives"), ShiftMeasurement.FirstLevel(_context.Seed, LevelScope, "data"), FormOptionsOf);
            Stage($"fitting {s.Objectives.Count} objectives on the same maze/train data");
            _data = fitting.Data();
            var fitted = new List<(ShiftObjective Spec, LoadedObjective Objective)>();
            foreach (var spec in s.Objectives)
            {
                var loaded = fitting.Fit(spec);
                fitted.Add((spec, loaded));
                var card = loaded.Card;
                if (card.IsLinear)
                {
                    _context.Run.WriteArtifact($"objectives/{spec.Id}.json", ObjectiveCardFile.ToJson(card));
                }
                _report.Append(CultureInfo.InvariantCulture, $"## {spec.Id}\n\n```\n{card.Describe()}\n```\n\n");
                if (loaded.Module is NetObjectiveForm { Hidden.Length: 0, Input: ObjectiveInput.Observation } linearOverObservation)
                {
                    AddObservationWeights(spec.Id, linearOverObservation);
                }
            }
            var trueReward = TrueReward();

            Stage("zero-rollout audits: identifiability, disagreement between the objectives and within each one's seed ensemble, oracle EPIC");
            var train = family.Typed("maze/train", _trainParameters);
            var test = family.Typed("maze/test", _testParameters);
            var states = new AuditStates<MazeState>(
                "maze/train", ShiftMeasurement.Levels(_context.Seed, LevelScope, "audit-train", s.AuditLevels).Select(train.Level).ToArray(),
                "maze/test", ShiftMeasurement.Levels(_context.Seed, LevelScope, "audit-test", s.AuditLevels).Select(test.Level).ToArray());
            ZeroRolloutAudit.Run(_results, _report, fitting, _data, Maze.FeatureNames.Names, fitted, trueReward, states, s.EnsembleMembers,
                k => _context.DeriveSeed($"objectives/ensemble/{k}"));

            Stage($"every objective under {string.Join(", ", s.Planners)} on maze/train and maze/test");
            var measures = new Dictionary<(string Planner, string Objective), ShiftMeasure>();
            foreach (var plannerName in s.Planners)
            {
                var truth = MeasurePlanner(plannerName, "true", trueReward);
                foreach (var (spec, objective) in fitted)
                {
                    var measured = MeasurePlanner(plannerName, spec.Id, objective);
                    measures[(plannerName, spec.Id)] = measured;
                    var gap = truth.Test.Summary.Success.Value - measured.Test.Summary.Success.Value;
                    _results.Add($"objective/{spec.Id}/{plannerName}/success_gap", gap)
                        .Add($"objective/{spec.Id}/{plannerName}/failed", gap > s.FailureMargin ? 1 : 0);
                }
            }
            AddFormByInput(measures);

            Stage("retargeting without training: the bottom-right cell by swap and edit, and every cell by swap");
            var planner = s.Planners[0];
            var swap = LoadedObjective.Of(ObjectiveCard.Linear([new("x", 1.0), new("y", -1.0)], provenance: Provenance.Manual));
            MeasurePlanner(planner, "swap SE", swap, goal: "bottom-right");
            if (fitted.FirstOrDefault(f => f.Spec.Id == "reward-linear").Objective is { } linear)
            {
                var edited = linear.Card.SetWeight("at_cheese", 0).SetWeight("at_corner", 0).SetWeight("x", 1).SetWeight("y", -1);
                MeasurePlanner(planner, "edit SE", LoadedObjective.Of(edited), goal: "bottom-right");
                _report.Append("## The reward-linear card edited toward the bottom-right cell\n\n```\n").Append(edited.Describe()).Append("\n```\n\n");
            }
            AddMap(planner, "swap", Retargeting.Map(_testParameters, _retargetLevels, _evalSeed,
                (x, y) => AgentActions.Lanes(s.Planner(planner, Retargeting.CellGoal(x, y)), 1)), withCeiling: true);

            if (s.GemLevels > 0)
            {
                Stage($"retargeting {planner} to the gem, a second item it never trained with: the gem reward swapped in, the reward-linear card edited");
                GemPlanner(planner, "swap", "the gem reward 10·at_gem swapped in", LoadedObjective.Of(MazeFamily.GemReference.Card));
                if (fitted.FirstOrDefault(f => f.Spec.Id == "reward-linear").Objective is { } trained)
                {
                    var card = trained.Card;
                    GemPlanner(planner, "none", "the reward-linear card as trained (no gem feature)", trained);
                    var edited = card.SetWeight("at_cheese", 0).AddWeight(Maze.AtGem, 1);
                    GemPlanner(planner, "edit", "reward-linear card: at_cheese → 0, at_gem → 1", LoadedObjective.Of(edited));
                    var noCorner = edited.SetWeight("at_corner", 0);
                    GemPlanner(planner, "edit-no-corner", "the same edit and at_corner → 0", LoadedObjective.Of(noCorner));
                    _report.Append("## The reward-linear card edited toward the gem\n\n```\n").Append(noCorner.Describe()).Append("\n```\n\n");
                }
            }
        }

        /// <summary>The planner over <paramref name="objective"/> retargeted to the gem on the cell's gem levels (zero gradient steps).</summary>
        private void GemPlanner(string planner, string handle, string what, LoadedObjective objective)
        {
            var name = $"{planner} + {handle} gem";
            var agent = _settings.Planner(planner, objective.ForAgent<MazeState>(name));
            AddGem(planner, handle, what, Retargeting.Gem(_testParameters, _gemLevels, _evalSeed, name, (_, _) => AgentActions.Lanes(agent, 1)));
        }

        /// <summary>
        /// One gem retargeting's results, <c>retarget/gem/AGENT/HANDLE/success</c> (ended on the gem) and <c>…/reachable</c> (its ceiling: the
        /// gem can be reached without stepping on the cheese), as Wilson-interval rates the sweep merges; and its rows in the cell's report.
        /// </summary>
        private void AddGem(string agent, string handle, string what, EvaluationSummary summary)
        {
            _results.Add(MazeShiftAnalysis.GemResult(agent, handle, "success"), summary.Success)
                .Add(MazeShiftAnalysis.GemResult(agent, handle, "reachable"), summary.SuccessCeiling);
            _gem.Add((agent, handle, what, summary));
            _summaries.Add(summary);
        }

        public void RunPolicy(PolicyKind kind)
        {
            var s = _settings;
            var family = MazeFamily.Instance;
            var (options, ppo) = s.Ppo[kind];
            var name = "ppo-" + kind.ToString().ToLowerInvariant();
            var (policy, source) = s.PoliciesFrom is { } from ? Load(from, options) : (Train(name, options, ppo), null);
            using (policy)
            {
                if (source is not null)
                {
                    _report.Append(CultureInfo.InvariantCulture, $"The policy was not trained here: it is the final checkpoint `{source}` of the matching cell of an earlier sweep ({SweepPolicies.Key}).\n\n");
                }

                Stage($"{name} on maze/train and maze/test");
                using (var lanes = new PolicyAgent<MazeState>(policy, AgentEvaluations.PolicyLanes, name))
                {
                    var measured = ShiftMeasurement.Measure(lanes, _trainParameters, _testParameters, _trainLevels, _testLevels, _evalSeed, "cheese", s.ProxyRegion, keepEpisodes: true);
                    Add(name, measured);
                    Picture(name, name, null, null, measured);
                    RunAnalyses(new ShiftAgent(name, AgentKind.LearnedOptimizer, null, null, policy, options, lanes));
                }

                Stage($"retargeting {name} without training: goal vector (steer) and cheese-channel clamp at every cell");
                var test = family.Typed("maze/test", _testParameters);
                var steerLevels = ShiftMeasurement.Levels(_context.Seed, LevelScope, "steer", s.SteerLevels).Select(test.Level).ToArray();
                var point = Retargeting.SteerPoint(policy);
                IBatchedAgent<MazeState> Steered(int x, int y, string label)
                {
                    using var scope = NewDisposeScope();
                    var vector = Retargeting.TargetVector(policy, point, steerLevels, x, y).MoveToOuterDisposeScope();
                    return Retargeting.Hooked(policy, new ActivationHooks(policy).Steer(point, vector, s.SteerScale), label);
                }
                var bottomRight = s.Size - 1;
                MeasureRetargeted(name + " + steer SE", Steered(bottomRight, 0, name + " + steer SE"));
                AddMap(name, "steer", Retargeting.Map(_testParameters, _retargetLevels, _evalSeed, (x, y) => Steered(x, y, name + " + steer")), withCeiling: false);
                if (policy.HookPoints.Any(h => h.Name == GridEncoder.Conv1Point))
                {
                    var channel = Retargeting.CheeseChannel(policy, steerLevels);
                    _report.Append(CultureInfo.InvariantCulture, $"Cheese channel of encoder.conv1 (clamped to {s.ClampValue} at the target): {channel}.\n\n");
                    IBatchedAgent<MazeState> Clamped(int x, int y, string label) =>
                        Retargeting.Hooked(policy, new ActivationHooks(policy).Clamp(GridEncoder.Conv1Point, channel, s.Size - 1 - y, x, s.ClampValue), label);
                    MeasureRetargeted(name + " + clamp SE", Clamped(bottomRight, 0, name + " + clamp SE"));
                    AddMap(name, "clamp", Retargeting.Map(_testParameters, _retargetLevels, _evalSeed, (x, y) => Clamped(x, y, name + " + clamp")), withCeiling: false);
                    if (s.GemLevels > 0)
                    {
                        AddGem(name, "clamp", $"cheese channel {channel} of encoder.conv1 clamped to {s.ClampValue} at the gem's cell",
                            Retargeting.Gem(_testParameters, _gemLevels, _evalSeed, name + " + clamp gem", (x, y) => Retargeting.WithoutGem(Clamped(x, y, name + " + clamp gem"))));
                    }
                }
                if (s.GemLevels > 0)
                {
                    Stage($"retargeting {name} to the gem, which it has no input for: none, steer toward the gem's cell");
                    AddGem(name, "none", "no handle (the policy has no gem channel: it sees walls, mouse and cheese)",
                        Retargeting.Gem(_testParameters, _gemLevels, _evalSeed, name + " + none gem", (_, _) => Retargeting.WithoutGem(new PolicyAgent<MazeState>(policy, AgentEvaluations.PolicyLanes, name + " + none gem"))));
                    AddGem(name, "steer", $"goal vector at {point}: cheese moved to the gem's cell minus no cheese, ×{s.SteerScale}",
                        Retargeting.Gem(_testParameters, _gemLevels, _evalSeed, name + " + steer gem", (x, y) => Retargeting.WithoutGem(Steered(x, y, name + " + steer gem"))));
                }
            }
        }

        /// <summary>Trains the policy on maze/train and saves its final checkpoint (what <c>policies_from</c> loads).</summary>
        private ActorCritic Train(string name, PolicyOptions options, PpoSettings ppo)
        {
            Stage($"training {name} on maze/train, {ppo.TotalTimesteps} steps");
            var train = MazeFamily.Instance.Typed("maze/train", _trainParameters);
            var (policy, trainer) = RecurrentPpo.Create(MazeFamily.Instance, train, ppo with { Seed = (ulong)_context.DeriveSeed("ppo") }, options);
            using (trainer)
            {
                PpoTrainingLoop.RunToEnd(trainer, ppo, _context.Run, _context.Progress, "maze-shift", 0, 8, name, _context.CancellationToken);
                PolicyCheckpoints.Save(_context.Run, policy, trainer, options, "maze/train", _trainParameters);
            }
            return policy;
        }

        /// <summary>Loads the matching cell's final checkpoint from the sweep in <paramref name="from"/>.</summary>
        private (ActorCritic Policy, string Source) Load(string from, PolicyOptions options)
        {
            Stage($"loading the policy of the matching cell of {from}");
            var checkpoint = SweepPolicies.Find(from, _context.Config.ToResolvedToml(), _settings.Agents, _settings.Region, (long)_context.Seed);
            var (policy, metadata) = PolicyCheckpoints.Load(checkpoint);
            try
            {
                PolicyCheckpoints.RequireArchitecture(metadata, options, checkpoint.SidecarPath);
            }
            catch
            {
                policy.Dispose();
                throw;
            }
            _context.Run.Log($"loaded {checkpoint.TensorPath} (step {checkpoint.Step})");
            return (policy, checkpoint.TensorPath);
        }

        public void Finish()
        {
            Stage("writing results.json, report.md and report.html");
            _context.Run.WriteResults(_results);
            _report.Append("## Every agent\n\n| agent | distribution | goal | success | success reachable | proxy (corner) | proxy reachable |\n|---|---|---|---|---|---|---|\n");
            foreach (var summary in _summaries)
            {
                _report.Append(CultureInfo.InvariantCulture,
                    $"| {summary.Agent} | {summary.Distribution} | {summary.Goal} | {EvaluationReport.RateText(summary.Success)} | {EvaluationReport.RateText(summary.SuccessCeiling)} | {EvaluationReport.RateText(summary.Proxy)} | {EvaluationReport.RateText(summary.ProxyCeiling)} |\n");
            }
            if (_gem.Count > 0)
            {
                _report.Append(CultureInfo.InvariantCulture,
                    $"## Retargeting to the gem\n\nA second item no agent trained with, on {_gemLevels.Length} maze/test levels with a gem (gems = 1; the same walls and cheese as without). Success: ended on the gem; ceiling: the gem can be reached without stepping on the cheese. Zero gradient steps. 95 % Wilson intervals over levels.\n\n| agent | handle | what | success | ceiling |\n|---|---|---|---|---|\n");
                foreach (var (agent, handle, what, summary) in _gem)
                {
                    _report.Append(CultureInfo.InvariantCulture, $"| {agent} | {handle} | {what} | {EvaluationReport.RateText(summary.Success)} | {EvaluationReport.RateText(summary.SuccessCeiling)} |\n");
                }
                _report.Append('\n');
            }
            _context.Run.WriteReport(_report.ToString());
            var html = new HtmlReport($"maze-shift cell {_context.Run.Id}");
            html.Paragraph($"Agent group {_settings.Agents}, seed {_context.Seed}; {_settings.Size}×{_settings.Size} mazes, maze/train cheese region {_settings.Region}. Intervals: 95 % Wilson over levels. The sweep's report merges the seeds.");
            var source = $"run {_context.Run.Id}: {RunResults.FileName}";
            html.Figure(EvaluationReport.Bars("success and proxy pursuit, maze/train and maze/test", _summaries, source));
            html.Table(EvaluationReport.Table("every agent, every distribution", _summaries, source));
            if (_formByInput is { } formByInput)
            {
                html.Heading("Form × input");
                html.Table(formByInput);
            }
            if (_weightMaps.Count > 0)
            {
                html.Heading("Linear objectives over the one-hot observation, read back");
                html.Paragraph("Each map: the objective's weight on the mouse channel at each cell (rows from the top). V adds the weight of the mouse's cell; the wall and cheese channels are constant within a level, so these weights alone decide where a planner goes. A linear form over one-hot inputs cannot express \"the mouse on the cheese\" (a product of two channels): it can only prefer cells.");
                html.FigureRow([.. _weightMaps.Select(m => Figures.Heatmap($"{m.Objective}: mouse-channel weights", m.Mouse, "weight", $"run {_context.Run.Id}: objectives/{m.Objective}.weights.json"))]);
            }
            var metrics = _context.Run.ReadMetrics();
            // A run too short for any episode to end has no return to draw.
            if (metrics.Any(r => r.Values.TryGetValue(PpoMetricKeys.EpisodicReturn, out var v) && double.IsFinite(v)))
            {
                html.Figure(Figures.LearningCurves("PPO episodic return on maze/train", metrics, [PpoMetricKeys.EpisodicReturn], $"run {_context.Run.Id}: metrics.csv", "environment steps"));
            }
            AddPictures(html);
            _context.Run.WriteHtmlReport(html);
            _context.Progress.Report(new ProgressUpdate("maze-shift", 8, 8, "done"));
        }

        private ShiftMeasure MeasurePlanner(string plannerName, string objectiveId, LoadedObjective objective, string goal = "cheese")
        {
            var name = $"{plannerName} + {objectiveId}";
            var agent = _settings.Planner(plannerName, objective.ForAgent<MazeState>(name));
            var lanes = AgentActions.Lanes(agent, 1);
            var control = goal == "cheese";
            var measured = ShiftMeasurement.Measure(lanes, _trainParameters, _testParameters, control ? _trainLevels : null, _testLevels, _evalSeed, goal, _settings.ProxyRegion, keepEpisodes: control);
            Add(name, measured);
            if (control)
            {
                Picture(name, plannerName, objectiveId, objective, measured);
                RunAnalyses(new ShiftAgent(name, agent.Kind, objective, plannerName, null, null, lanes, objectiveId));
            }
            return measured;
        }

        /// <summary>
        /// A linear objective over the one-hot observation read back: its weight on each cell of the mouse channel (the only channel that
        /// changes within a level, so the one that decides where a planner goes) as a table in report.md and a heatmap in report.html,
        /// and every channel's weights in <c>objectives/ID.weights.json</c>.
        /// </summary>
        private void AddObservationWeights(string id, NetObjectiveForm module)
        {
            var (channels, bias) = module.ObservationWeights();
            var mouse = channels[Maze.MouseChannel];
            _weightMaps.Add((id, mouse));
            static double[][] Rows(double[,] map) => [.. Enumerable.Range(0, map.GetLength(0)).Select(r => Enumerable.Range(0, map.GetLength(1)).Select(c => map[r, c]).ToArray())];
            _context.Run.WriteArtifact($"objectives/{id}.weights.json", System.Text.Json.JsonSerializer.Serialize(new
            {
                bias,
                wall = Rows(channels[Maze.WallChannel]),
                mouse = Rows(mouse),
                cheese = Rows(channels[Maze.CheeseChannel]),
            }));
            var size = mouse.GetLength(1);
            _report.Append(CultureInfo.InvariantCulture, $"Weights of {id} on the mouse channel (rows from the top; V adds the weight of the mouse's cell; the wall and cheese channels are constant within a level: objectives/{id}.weights.json):\n\n| row \\ x |")
                .Append(string.Concat(Enumerable.Range(0, size).Select(x => $" {x} |"))).Append("\n|---|").Append(string.Concat(Enumerable.Repeat("---:|", size))).Append('\n');
            for (var row = 0; row < mouse.GetLength(0); row++)
            {
                _report.Append(CultureInfo.InvariantCulture, $"| {row} |");
                for (var x = 0; x < size; x++)
                {
                    _report.Append(CultureInfo.InvariantCulture, $" {mouse[row, x]:F2} |");
                }
                _report.Append('\n');
            }
            _report.Append('\n');
        }

        /// <summary>
        /// The 2×2 of form × input for each signal and planner: the linear form and the net over the named features and over the one-hot
        /// observation, maze/train and maze/test success and maze/test proxy pursuit with Wilson intervals, in report.md and report.html.
        /// </summary>
        private void AddFormByInput(IReadOnlyDictionary<(string Planner, string Objective), ShiftMeasure> measures)
        {
            var rows = new List<IReadOnlyList<string>>();
            foreach (var planner in _settings.Planners)
            {
                foreach (var signal in new[] { ObjectiveSignal.Reward, ObjectiveSignal.Preferences })
                {
                    foreach (var form in new[] { ObjectiveForm.Linear, ObjectiveForm.Net })
                    {
                        foreach (var input in new[] { ObjectiveInput.Features, ObjectiveInput.Observation })
                        {
                            var id = new ShiftObjective(signal, form, input).Id;
                            if (measures.TryGetValue((planner, id), out var m))
                            {
                                rows.Add([planner, ObjectiveTraining.SignalNames[(int)signal], ObjectiveCard.FormName(form), FormByInput.InputName(input), id,
                                    m.Train is { } t ? EvaluationReport.RateText(t.Success) : "—", EvaluationReport.RateText(m.Test.Summary.Success), EvaluationReport.RateText(m.Test.Summary.Proxy)]);
                            }
                        }
                    }
                }
            }
            if (rows.Count == 0)
            {
                return;
            }
            _formByInput = new ReportTable("form × input: the same signal through a linear form and a net, each over the named features and over the one-hot observation (95 % Wilson over levels)",
                FormByInput.Maze.CellHeaders, rows, $"run {_context.Run.Id}: {RunResults.FileName}");
            _report.Append("## Form × input\n\nEach signal fitted by a linear form and by a net, each over the named features and over the one-hot observation (the policies see one-hot observations). 95 % Wilson intervals over levels.\n\n| ")
                .Append(string.Join(" | ", FormByInput.Maze.CellHeaders)).Append(" |\n|").Append(string.Concat(Enumerable.Repeat("---|", FormByInput.Maze.CellHeaders.Count))).Append('\n');
            foreach (var row in rows)
            {
                _report.Append("| ").Append(string.Join(" | ", row)).Append(" |\n");
            }
            _report.Append('\n');
        }

        private static LoadedObjective TrueReward() => LoadedObjective.Of(ObjectiveCard.Linear([new("at_cheese", 10.0)], provenance: Provenance.Manual));

        /// <summary>Keeps the agent's paths on the first <see cref="PicturedLevels"/> maze/test levels for the report.</summary>
        private void Picture(string agent, string label, string? objectiveId, LoadedObjective? objective, ShiftMeasure measured)
        {
            var episodes = measured.Test.Episodes ?? throw new InvalidOperationException("the measurement kept no episodes");
            _pictured.Add(new PicturedAgent(agent, label, objectiveId, objective, [.. episodes.Take(PicturedLevels).Select(e => e.States.Select(st => st.Cell).ToArray())]));
        }

        /// <summary>
        /// Per pictured maze/test level, one heatmap per objective (its value at every open cell) with the paths of the planners that
        /// pursued it, and the policies' paths over the true reward; the paths are written to <c>paths.json</c> too.
        /// </summary>
        private void AddPictures(HtmlReport html)
        {
            if (_pictured.Count == 0)
            {
                return;
            }
            var size = _settings.Size;
            var test = MazeFamily.Instance.Typed("maze/test", _testParameters);
            var levels = Math.Min(PicturedLevels, _testLevels.Length);
            _context.Run.WriteArtifact(PathsFile, System.Text.Json.JsonSerializer.Serialize(
                _pictured.Select(p => new { agent = p.Agent, objective = p.ObjectiveId, levels = _testLevels.Take(levels), cells = p.Cells })));
            html.Heading($"Paths on the first {levels} maze/test levels, over each objective's values");
            html.Paragraph($"Levels 1–{levels}: maze/test seeds {string.Join(", ", _testLevels.Take(levels))}.");
            html.Paragraph("Each figure: an objective's value at every open cell of the level (walls grey; the hard-coded agents' objectives are queryable everywhere), "
                + "with the path of every planner that pursued it; the policies' paths are drawn over the true reward (10 at the cheese), since a policy has no objective to ask. Cells: row 0 at the top; a circle marks the start.");
            var source = $"run {_context.Run.Id}: {PathsFile}";
            var trueReward = TrueReward();
            for (var i = 0; i < levels; i++)
            {
                var level = test.Level(_testLevels[i]);
                var figures = new List<ReportFigure>();
                foreach (var group in _pictured.GroupBy(p => p.ObjectiveId))
                {
                    var objective = group.First().Objective ?? trueReward;
                    var heatmap = ObjectiveHeatmap.Maze(level, objective.Evaluator(level));
                    var paths = group.Select(p => new GridPath(p.Label,
                        [.. p.Cells[i].Select(c => (c / size, c % size))])).ToArray();
                    var title = $"level {i + 1}: " + (group.Key is null ? "policies, true reward" : group.Key);
                    figures.Add(Figures.HeatmapWithPaths(title, heatmap, paths, "value", source));
                }
                html.FigureRow(figures);
            }
        }

        private void MeasureRetargeted(string name, IBatchedAgent<MazeState> agent)
        {
            try
            {
                Add(name, ShiftMeasurement.Measure(agent, _trainParameters, _testParameters, null, _testLevels, _evalSeed, "bottom-right", _settings.ProxyRegion));
            }
            finally
            {
                (agent as IDisposable)?.Dispose();
            }
        }

        private void Add(string name, ShiftMeasure measured)
        {
            var prefix = MazeShiftAnalysis.AgentPrefix + name;
            if (measured.Train is { } train)
            {
                EvaluationReport.AddTo(_results, train, prefix);
                _summaries.Add(train with { Agent = name });
            }
            EvaluationReport.AddTo(_results, measured.Test.Summary, prefix);
            if (measured.Test.Summary.Goal == "cheese")
            {
                _results.Add($"{prefix}/maze/test/{MazeShiftAnalysis.ProxyRegionResult}", measured.ProxyRegion);
            }
            _summaries.Add(measured.Test.Summary with { Agent = name });
        }

        /// <summary>Adds a map's success per cell and, with <paramref name="withCeiling"/>, its ceiling (the same for every agent of a seed: the levels depend on the seed only).</summary>
        private void AddMap(string agent, string handle, IReadOnlyList<TargetCell> map, bool withCeiling)
        {
            foreach (var cell in map.Where(c => c.Success.Of > 0))
            {
                _results.Add(MazeShiftAnalysis.MapResult(agent, handle, cell.X, cell.Y), cell.Success);
                if (withCeiling)
                {
                    _results.Add(MazeShiftAnalysis.MapResult(MazeShiftAnalysis.CeilingAgent, MazeShiftAnalysis.CeilingHandle, cell.X, cell.Y), cell.Reachable);
                }
            }
        }

        private void RunAnalyses(ShiftAgent agent)
        {
            foreach (var analysis in ShiftAnalyses.All.Where(a => _settings.Analyses.Contains(a.Name) && a.AppliesTo(agent)))
            {
                _context.CancellationToken.ThrowIfCancellationRequested();
                analysis.Run(AnalysisContext, agent);
            }
        }

        /// <summary>
        /// An agent's maze/test paths on the pictured levels: <paramref name="Cells"/>[level][t], cell index row-major from the top row;
        /// <paramref name="Label"/> names the path in its figure (the planner, beside the others over the same objective; the policy).
        /// </summary>
        private sealed record PicturedAgent(string Agent, string Label, string? ObjectiveId, LoadedObjective? Objective, int[][] Cells);

        private static FormOptions FormOptionsOf(ShiftObjective spec) => spec.Form switch
        {
            // Sparse: the two strongest features survive (as in the demo).
            ObjectiveForm.Sparse => new FormOptions(Keep: 2),
            // Monotone: the signs a programmer would declare for "get to the cheese"; every other feature is free.
            ObjectiveForm.Monotone => new FormOptions(Signs: ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal,
                [new KeyValuePair<string, int>("at_cheese", 1), new("path_dist_to_cheese", -1), new("euclid_dist_to_cheese", -1)])),
            _ => new FormOptions(Input: spec.Input),
        };
    }
}
