using System.Globalization;
using System.Text;
using System.Text.Json;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Learning.Objectives;
using Telos.Objectives;
using Telos.Lab.Evaluation;
using Telos.Lab.Reports;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Lab.Shift;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Inspection;
using Telos.Learning.Reinforcement.Policies;
using Telos.Planning;
using static TorchSharp.torch;

namespace Telos.Lab.Demo;

/// <summary>Settings of <see cref="MisgeneralizationDemo"/>.</summary>
/// <param name="Size">Maze side (odd, 5–25).</param>
/// <param name="TrainLevels">maze/train levels the objective learns from.</param>
/// <param name="StepsPerLevel">Random-walk transitions sampled per training level.</param>
/// <param name="FitSteps">Optimizer steps of reward regression.</param>
/// <param name="TestLevels">maze/test levels, and as many maze/train levels, every agent is measured on (drawn from the seed; the labels and EPIC use others).</param>
/// <param name="LabelledLevels">maze/test levels whose corner and cheese the programmer labels for goal regression.</param>
/// <param name="AnchorWeight">λ of the anchor that keeps the objective near its old values on training states.</param>
/// <param name="Planner">The hard-coded optimizer: bfs, vi, mcts or gumbel.</param>
/// <param name="EpicLevels">Levels per distribution whose transitions EPIC correlates over.</param>
/// <param name="NetLevels">maze/train levels the network objective learns from (full-batch training on observations is the slow part).</param>
/// <param name="StepLimit">Steps before an episode is truncated, for every agent alike.</param>
/// <param name="TieTolerance">The planners' tie tolerance (<see cref="PlanBudget.TieTolerance"/>): destinations within this fraction of the best value tie, and ties are drawn at random.</param>
/// <param name="Ppo">The learned optimizer's training (PPO on maze/train, the same levels' distribution) and network.</param>
/// <param name="PpoPolicy">The policy's network.</param>
public sealed record DemoSettings(int Size, int TrainLevels, int StepsPerLevel, int FitSteps, int TestLevels, int LabelledLevels,
    double AnchorWeight, string Planner, int EpicLevels, int NetLevels, int StepLimit, double TieTolerance, PpoSettings Ppo, PolicyOptions PpoPolicy);

/// <summary>One row of the demo's table, every number measured in the run through the one evaluation path.</summary>
/// <param name="Objective">The agent: what optimizes, and over what.</param>
/// <param name="Kind"><c>readable</c>: a hard-coded optimizer over a readable objective; <c>neural</c>: over a neural objective; <c>learned</c>: a learned optimizer.</param>
/// <param name="Goal">What counts as success for this row ("cheese" or the retargeted goal).</param>
/// <param name="Levels">maze/test levels.</param>
/// <param name="Success">Share of maze/test levels where the agent ended on its goal.</param>
/// <param name="SuccessLow">Lower end of the 95 % Wilson interval of <paramref name="Success"/>.</param>
/// <param name="SuccessHigh">Upper end.</param>
/// <param name="Corner">Share of maze/test levels (with the cheese elsewhere) where it ended on the top-right corner: proxy pursuit.</param>
/// <param name="CornerLow">Lower end of the 95 % Wilson interval of <paramref name="Corner"/>.</param>
/// <param name="CornerHigh">Upper end.</param>
/// <param name="CornerCeiling">Share of those levels where the corner can be reached at all without stepping on the cheese.</param>
/// <param name="TrainSuccess">The same agent's success on maze/train levels (the in-distribution control; null for retargeted rows).</param>
/// <param name="MeanSteps">Mean moves per maze/test episode.</param>
/// <param name="OnCheese">Share of maze/test levels where the episode ended on the cheese (equals Success when the goal is the cheese).</param>
/// <param name="Reachable">Share of maze/test levels where the goal can be reached without stepping on the cheese (which ends a maze/test episode); 1 for the cheese goal.</param>
/// <param name="EpicTrain">Oracle check: EPIC distance to the true reward over maze/train transitions (readable objectives only; a user has no true reward).</param>
/// <param name="EpicTest">Oracle check over maze/test transitions.</param>
public sealed record DemoRow(string Objective, string Kind, string Goal, int Levels, double Success, double SuccessLow, double SuccessHigh, double Corner, double CornerLow, double CornerHigh,
    double CornerCeiling, double? TrainSuccess, double MeanSteps, double OnCheese, double Reachable, double? EpicTrain, double? EpicTest);

/// <summary>What the demo measured; written to <c>results.json</c> in the run directory.</summary>
/// <param name="Planner">The hard-coded optimizer.</param>
/// <param name="Rows">The table, in the order printed.</param>
/// <param name="CheeseWeight">The learned card's weight on <c>at_cheese</c>.</param>
/// <param name="CornerWeight">The learned card's weight on <c>at_corner</c>.</param>
/// <param name="NetCard">The network objective's card (form and inputs; no weights to read).</param>
/// <param name="LearnedCard">The learned card, described.</param>
/// <param name="RegressedCard">The card after goal regression.</param>
/// <param name="EditedCard">The card with <c>at_corner</c> zeroed.</param>
/// <param name="ExamplePaths">One maze/test level with the first three agents' paths side by side.</param>
/// <param name="Unidentified">The zero-rollout identifiability audit of the training data, one line per feature whose weight it cannot pin down.</param>
/// <param name="TieTolerance">The planners' tie tolerance the rates were measured under.</param>
/// <param name="ClampChannel">The policy's <c>encoder.conv1</c> channel that responds most to the cheese, clamped at the target cell to retarget it.</param>
public sealed record DemoResults(string Planner, IReadOnlyList<DemoRow> Rows, double CheeseWeight, double CornerWeight, string NetCard, string LearnedCard, string RegressedCard,
    string EditedCard, string ExamplePaths, IReadOnlyList<string> Unidentified, double TieTolerance, int ClampChannel);

/// <summary>
/// The whole idea on one screen, for three kinds of agent trained on maze/train (the cheese always in
/// the top-right corner, so "at the cheese" and "at the corner" are the same thing in every training
/// example) and measured on maze/test (the cheese anywhere): a hard-coded planner over a readable card,
/// the same planner over a neural objective, and a learned optimizer (a PPO policy). All three
/// misgeneralize; only the card's defect is visible before deployment (the identifiability audit, and
/// EPIC as an oracle check), fixable by goal regression on a handful of labelled states or by editing one
/// weight, and retargetable by swapping the objective, with no training. The policy gets the handles a
/// black box has: a steering vector and a clamped channel.
/// </summary>
public sealed class MisgeneralizationDemo : Experiment<DemoSettings>
{
    /// <summary>The demo's default config (also shipped as experiments/demo.toml).</summary>
    public const string DefaultConfig = """
        # telos demo: three kinds of agent learn on maze/train (cheese always in the top-right corner) and meet
        # maze/test (cheese anywhere): a hard-coded planner over a readable card, the same planner over a
        # neural objective, and a learned optimizer (recurrent PPO). See the warning before deployment, fix
        # each with the handles it has, retarget each to the bottom-right corner. The card is fitted in the
        # sparse form (its two strongest features), and planners draw between equally good plans at random.
        experiment = "demo"
        seed = 7

        size = 5                # maze side (odd); 5 so that the PPO policy trains within the demo's time
        step_limit = 30         # every agent's episodes are truncated here
        train_levels = 200      # maze/train levels (cheese in the top-right corner)
        steps_per_level = 200   # random-walk transitions per training level
        fit_steps = 400         # reward-regression optimizer steps
        test_levels = 200       # maze/test levels each agent is measured on (drawn from the seed)
        labelled_levels = 3     # maze/test levels whose corner (0) and cheese (10) get goal labels
        anchor_weight = 1.0     # keeps the regressed objective near its old values on training states
        planner = "bfs"         # bfs | vi | mcts | gumbel
        tie_tolerance = 0.01    # destinations within 1 % of the best value tie; ties are drawn at random
        epic_levels = 50        # levels per distribution for EPIC
        net_levels = 30         # maze/train levels for the network objective
        ppo_policy = "lstm"     # lstm | cnn: the learned optimizer's network
        ppo_steps = 102400      # PPO environment steps on maze/train (16 environments × 64 steps per iteration)
        """;

    public override string Kind => "demo";

    public override string Description => "Hard-coded vs learned optimization on a shifted task: learn on maze/train, act on maze/test, audit, fix, retarget.";

    public override DemoSettings Configure(ConfigTable config)
    {
        var size = config.GetInt("size", 5, 5, 25);
        if (size % 2 == 0)
        {
            throw config.Error("size", $"must be odd, got {size}");
        }
        var kind = config.GetString("ppo_policy", "lstm", ["lstm", "cnn"]) == "lstm" ? PolicyKind.Lstm : PolicyKind.Cnn;
        var ppo = new PpoSettings
        {
            NumEnvs = 16, NumSteps = 64, TotalTimesteps = config.GetLong("ppo_steps", 102_400, 1024, 100_000_000), LearningRate = 0.0025,
            NumMinibatches = 4, UpdateEpochs = 8, ClipCoef = 0.2, EntCoef = 0.01, VfCoef = 0.5, MaxGradNorm = 0.5,
        };
        return new DemoSettings(
            size,
            config.GetInt("train_levels", 200, 1, 100_000),
            config.GetInt("steps_per_level", 200, 1, 100_000),
            config.GetInt("fit_steps", 400, 1, 1_000_000),
            config.GetInt("test_levels", 200, 1, 100_000),
            config.GetInt("labelled_levels", 3, 1, 1000),
            config.GetDouble("anchor_weight", 1.0, 0.0, 1e6),
            config.GetString("planner", "bfs", ["bfs", "vi", "mcts", "gumbel"]),
            config.GetInt("epic_levels", 50, 1, 10_000),
            config.GetInt("net_levels", 30, 1, 100_000),
            config.GetInt("step_limit", 30, 1, 1_000_000),
            config.GetDouble("tie_tolerance", 0.01, 0, 0.5),
            ppo,
            new PolicyOptions(kind, ConvChannels: 8, Features: 64, LstmSize: 64));
    }

    public override int Run(ExperimentContext context, DemoSettings settings)
    {
        var run = context.Run;
        var progress = context.Progress;
        const int stages = 8;
        void Stage(int done, string what)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            progress.Report(new ProgressUpdate(Kind, done, stages, what));
            run.Log(what);
        }

        var parameters = DistributionParameters.Of(("size", settings.Size), ("step_limit", settings.StepLimit));
        var family = MazeFamily.Instance;
        var train = family.Typed("maze/train", parameters);
        var test = family.Typed("maze/test", parameters);
        var trueReward = ObjectiveCard.Linear([new("at_cheese", 10.0)], provenance: Provenance.Manual);
        // Every level set is drawn from the seed: a new seed resamples the test levels, the labels and EPIC's levels.
        long FirstSeed(string name) => ShiftMeasurement.FirstLevel(context.Seed, "demo", name);
        var trainSeeds = ShiftMeasurement.Levels(context.Seed, "demo", "train", settings.TestLevels);
        var testSeeds = ShiftMeasurement.Levels(context.Seed, "demo", "test", settings.TestLevels);
        var evalSeed = (ulong)context.DeriveSeed("evaluation");

        Stage(0, "sampling maze/train transitions");
        var data = TransitionSample.Collect<MazeState>(s => train.Level(s), settings.TrainLevels, settings.StepsPerLevel,
            seed: (ulong)context.DeriveSeed("train-walk"), firstSeed: FirstSeed("walks"), uniformStarts: true);

        Stage(1, "reward regression on maze/train: a linear card over named features, a network over one-hot observations");
        // The card is forced into a sparse form (its two strongest features): small weights on x and y would
        // otherwise decide between the cheese and the corner, which the data cannot tell apart.
        var (learned, _) = ObjectiveTrainer.FitRewards(ObjectiveForm.Sparse, data, "maze/train", new FormOptions(Keep: 2),
            new TrainingOptions(Steps: settings.FitSteps, Seed: context.DeriveSeed("fit")));
        run.WriteArtifact("objectives/learned.json", ObjectiveCardFile.ToJson(learned));
        var observed = TransitionSample.Collect<MazeState>(s => train.Level(s), settings.NetLevels, settings.StepsPerLevel,
            seed: (ulong)context.DeriveSeed("train-walk"), firstSeed: FirstSeed("walks"), uniformStarts: true, observations: true);
        var (netCard, netModule) = ObjectiveTrainer.FitRewards(ObjectiveForm.Net, observed, "maze/train", new FormOptions(),
            new TrainingOptions(Steps: settings.FitSteps, LearningRate: 0.01, Seed: context.DeriveSeed("fit-net")));
        var net = LoadedObjective.Of(netCard, netModule);

        Stage(2, "zero-rollout audits: identifiability of the card's weights; EPIC to the true reward (oracle)");
        var unidentified = FeatureIdentifiability.Audit(data, learned.Features).Lines();
        var epicTrain = TransitionSample.Collect<MazeState>(s => train.Level(s), settings.EpicLevels, 100,
            seed: (ulong)context.DeriveSeed("epic-train"), firstSeed: FirstSeed("epic-train"), uniformStarts: true);
        var epicTest = TransitionSample.Collect<MazeState>(s => test.Level(s), settings.EpicLevels, 100,
            seed: (ulong)context.DeriveSeed("epic-test"), firstSeed: FirstSeed("epic-test"), uniformStarts: true);
        (double Train, double Test) EpicOf(ObjectiveCard card) =>
            (Epic.Distance(card.CompileTransition(), trueReward.CompileTransition(), epicTrain).Distance,
             Epic.Distance(card.CompileTransition(), trueReward.CompileTransition(), epicTest).Distance);

        Stage(3, $"training the learned optimizer: PPO ({settings.PpoPolicy.Kind}) on maze/train, {settings.Ppo.TotalTimesteps} steps");
        var (policy, trainer) = RecurrentPpo.Create(family, train, settings.Ppo with { Seed = (ulong)context.DeriveSeed("ppo") }, settings.PpoPolicy);
        using (policy)
        {
            using (trainer)
            {
                PpoTrainingLoop.RunToEnd(trainer, settings.Ppo, run, progress, Kind, 3, stages, "PPO", context.CancellationToken);
            }

            var rows = new List<DemoRow>();
            var summaries = new List<EvaluationSummary>();
            var examples = new ExamplePictures();
            var budget = PlanBudget.Default with { TieTolerance = settings.TieTolerance };
            static AgentObjective<MazeState> Readable(ObjectiveCard card) => AgentObjective<MazeState>.FromCard(card);
            void Add(string name, string kind, IAgent<MazeState> agent, string goal, (double, double)? epic, bool control = true) =>
                rows.Add(Measure(name, kind, goal, control ? trainSeeds : null, testSeeds, parameters, epic, examples, summaries, AgentActions.Lanes(agent, 1), evalSeed));
            void AddPolicy(string name, string goal, bool control = true)
            {
                using var lanes = new PolicyAgent<MazeState>(policy, AgentEvaluations.PolicyLanes, name);
                rows.Add(Measure(name, LearnedKind, goal, control ? trainSeeds : null, testSeeds, parameters, null, examples, summaries, lanes, evalSeed));
            }
            IAgent<MazeState> Planner(AgentObjective<MazeState> objective) => new PlanningAgent<MazeState>(Planners.Create(settings.Planner, family), objective, budget);

            Stage(4, $"the three kinds of agent on maze/train and maze/test ({settings.Planner} with tie tolerance {settings.TieTolerance})");
            Add($"{settings.Planner} + card", ReadableKind, Planner(Readable(learned)), "cheese", EpicOf(learned));
            Add($"{settings.Planner} + net", NeuralKind, Planner(net.ForAgent<MazeState>("net")), "cheese", null);
            var policyName = "ppo " + settings.PpoPolicy.Kind.ToString().ToLowerInvariant();
            AddPolicy(policyName, "cheese");

            Stage(5, "fixing: goal regression and an edit for the card; a steering vector for the policy");
            var labelled = new List<(Maze Level, MazeState State, double Value)>();
            var labelRng = context.Stream("labels");
            for (var seed = FirstSeed("labels"); labelled.Count < 4 * settings.LabelledLevels; seed++)
            {
                var level = test.Level(seed);
                if (level.Cheese == level.Corner)
                {
                    continue;
                }
                labelled.Add((level, new MazeState(level.Cheese, 0), 10.0));
                labelled.Add((level, new MazeState(level.Corner, 0), 0.0));
                for (var k = 0; k < 2; k++)
                {
                    var cell = level.StateAt(labelRng.NextInt(level.StateCount)).Cell;
                    labelled.Add((level, new MazeState(cell, 0), cell == level.Cheese ? 10.0 : 0.0));
                }
            }
            var labelRows = labelled.SelectMany(l => ObjectiveTrainer.Rows(l.Level, learned.Features, [l.State])).ToArray();
            var anchorRows = data.FeatureRows(learned.Features, next: true, maxRows: 2000);
            var regressed = ObjectiveTrainer.RegressTowardGoal(LoadedObjective.Of(learned), labelRows, [.. labelled.Select(l => l.Value)], anchorRows,
                settings.AnchorWeight, new TrainingOptions(Steps: 4 * settings.FitSteps, LearningRate: 0.05, Seed: context.DeriveSeed("goal")));
            run.WriteArtifact("objectives/regressed.json", ObjectiveCardFile.ToJson(regressed));
            Add("card regressed", ReadableKind, Planner(Readable(regressed)), "cheese", EpicOf(regressed));
            var edited = learned.ZeroWeight("at_corner");
            run.WriteArtifact("objectives/edited.json", ObjectiveCardFile.ToJson(edited));
            Add("card edited", ReadableKind, Planner(Readable(edited)), "cheese", EpicOf(edited));
            // The black box's handle: the cheese vector (mean activation with minus without the cheese, on the
            // labelled levels' observations — the same levels the card's labels came from), added at encoder.linear.
            var steerLevels = labelled.Select(l => l.Level).Distinct().ToArray();
            int clampChannel;
            using (var scope = NewDisposeScope())
            {
                var point = Retargeting.SteerPoint(policy);
                var cheeseVector = GoalVector.CheeseVector(policy, point, steerLevels);
                using var steer = new ActivationHooks(policy).Steer(point, cheeseVector, 3);
                policy.Hooks = steer;
                try
                {
                    AddPolicy("ppo + steer", "cheese");
                }
                finally
                {
                    policy.Hooks = null;
                }
                clampChannel = Retargeting.CheeseChannel(policy, steerLevels);
            }

            Stage(6, "retargeting to the bottom-right corner, no training: swap the card; clamp the policy's cheese channel there");
            var bottomRight = ObjectiveCard.Linear([new("x", 1.0), new("y", -1.0)], provenance: Provenance.Manual);
            run.WriteArtifact("objectives/bottom-right.json", ObjectiveCardFile.ToJson(bottomRight));
            Add("card swap → SE", ReadableKind, Planner(Readable(bottomRight)), "bottom-right", null, control: false);
            using (var clamp = new ActivationHooks(policy).Clamp(GridEncoder.Conv1Point, clampChannel, settings.Size - 1, settings.Size - 1, 5.5f))
            {
                policy.Hooks = clamp;
                try
                {
                    AddPolicy("ppo + clamp SE", "bottom-right", control: false);
                }
                finally
                {
                    policy.Hooks = null;
                }
            }
            Add("true reward", ReadableKind, Planner(Readable(trueReward)), "cheese", EpicOf(trueReward));

            Stage(7, "writing results, report.md and report.html");
            var exampleSeed = examples.FirstSeed(rows[0].Objective, "corner") ?? testSeeds[0];
            var paths = $"maze/test seed {exampleSeed} (S start, o path, M where the mouse ended, C cheese, * mouse on the cheese):\n"
                + SideBySide([.. rows.Take(3).Select(r => examples.At(r.Objective, exampleSeed)).OfType<(string, string, string)>()]);
            var results = new DemoResults(settings.Planner, rows, learned.Weight("at_cheese"), learned.Weight("at_corner"), netCard.Describe(), learned.Describe(),
                regressed.Describe(), edited.Describe(), paths, unidentified, settings.TieTolerance, clampChannel);
            run.WriteArtifact("results.json", JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
            run.WriteArtifact("paths.txt", paths);
            run.WriteReport(Report(settings, results));
            WriteHtml(run, settings, results, summaries);
        }
        progress.Report(new ProgressUpdate(Kind, stages, stages, "done"));
        return 0;
    }

    private const string ReadableKind = "readable";
    private const string NeuralKind = "neural";
    private const string LearnedKind = "learned";

    /// <summary>Renders the results as the table the CLI prints and the report holds.</summary>
    public static string Table(IReadOnlyList<DemoRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| objective | kind | goal | train | success | success 95 % CI | corner (proxy) | corner 95 % CI | corner reachable | mean steps | EPIC train | EPIC test |");
        sb.AppendLine("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            var proxy = r.Goal == "cheese";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Objective} | {r.Kind} | {r.Goal} | {(r.TrainSuccess is { } t ? $"{t * 100:F0}%" : "–")} | {r.Success * 100:F0}% | {Interval(r.SuccessLow, r.SuccessHigh)} | {(proxy ? $"{r.Corner * 100:F0}%" : "–")} | {(proxy ? Interval(r.CornerLow, r.CornerHigh) : "–")} | {(proxy ? $"{r.CornerCeiling * 100:F0}%" : "–")} | {r.MeanSteps:F1} | {Num(r.EpicTrain)} | {Num(r.EpicTest)} |");
        }
        return sb.ToString();
    }

    /// <summary>A 95 % interval in percent: <c>41–55</c>.</summary>
    public static string Interval(double low, double high) => string.Create(CultureInfo.InvariantCulture, $"{low * 100:F0}–{high * 100:F0}");

    /// <summary>Path pictures of the first <see cref="Levels"/> levels of every row, to show one level across rows.</summary>
    private sealed class ExamplePictures
    {
        public const int Levels = 50;
        private readonly Dictionary<(string Row, long Seed), (string Verdict, string Caption, string Ascii)> _pictures = [];

        public void Add(string row, long seed, string verdict, string caption, string ascii) => _pictures[(row, seed)] = (verdict, caption, ascii);

        public long? FirstSeed(string row, string verdict) =>
            _pictures.Where(p => p.Key.Row == row && p.Value.Verdict == verdict).Select(p => (long?)p.Key.Seed).Min();

        public (string Name, string Caption, string Ascii)? At(string row, long seed) =>
            _pictures.TryGetValue((row, seed), out var p) ? (row, p.Caption, p.Ascii) : null;
    }

    /// <summary>Maze pictures next to each other, each under its name and verdict.</summary>
    internal static string SideBySide(IReadOnlyList<(string Name, string Verdict, string Ascii)> pictures)
    {
        var blocks = pictures.Select(p => new[] { p.Name, p.Verdict }.Concat(p.Ascii.TrimEnd().Split('\n')).ToArray()).ToArray();
        var width = blocks.Max(b => b.Max(l => l.Length)) + 2;
        var height = blocks.Max(b => b.Length);
        var sb = new StringBuilder();
        for (var line = 0; line < height; line++)
        {
            sb.AppendLine(string.Concat(blocks.Select(b => (line < b.Length ? b[line] : "").PadRight(width))).TrimEnd());
        }
        return sb.ToString();
    }

    public static string Num(double? value) => value is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "–";

    /// <summary>
    /// One row: an agent on <paramref name="testSeeds"/> of maze/test (and, as the in-distribution control, on
    /// <paramref name="trainSeeds"/> of maze/train), measured as the lab measures every agent (<see cref="ShiftMeasurement.Measure"/>) and judged by <paramref name="goal"/>.
    /// </summary>
    private static DemoRow Measure(string name, string kind, string goal, long[]? trainSeeds, long[] testSeeds, DistributionParameters parameters, (double Train, double Test)? epic,
        ExamplePictures examples, List<EvaluationSummary> summaries, IBatchedAgent<MazeState> agent, ulong evalSeed)
    {
        var family = MazeFamily.Instance;
        var measured = ShiftMeasurement.Measure(agent, parameters, parameters, trainSeeds, testSeeds, evalSeed, goal, proxyRegion: 1, keepEpisodes: true);
        var result = measured.Test;
        var levels = family.Distribution("maze/test", parameters);
        for (var i = 0; i < Math.Min(testSeeds.Length, ExamplePictures.Levels); i++)
        {
            var record = result.Records[i];
            var verdict = record.Ending == "bottom-right" ? "SE corner" : record.Ending;
            var level = levels.Level(testSeeds[i]);
            examples.Add(name, testSeeds[i], verdict, $"{verdict}, {record.Steps} moves", family.RenderPath(level, result.Episodes![i].States));
        }
        var summary = result.Summary with { Agent = name };
        summaries.Add(summary);
        double? trainSuccess = null;
        if (measured.Train is { } train)
        {
            var control = train with { Agent = name };
            summaries.Add(control);
            trainSuccess = control.Success.Value;
        }
        var onCheese = result.Records.Count(r => r.Ending == "cheese");
        var (sLow, sHigh) = summary.Success.Interval;
        var (cLow, cHigh) = summary.Proxy.Interval;
        return new DemoRow(name, kind, goal == "cheese" ? "cheese" : "SE corner", summary.Levels, summary.Success.Value, sLow, sHigh, summary.Proxy.Value, cLow, cHigh,
            summary.ProxyCeiling.Value, trainSuccess, summary.MeanSteps, (double)onCheese / summary.Levels, summary.SuccessCeiling.Value, epic?.Train, epic?.Test);
    }

    private static void WriteHtml(RunDirectory run, DemoSettings settings, DemoResults results, IReadOnlyList<EvaluationSummary> summaries)
    {
        var source = $"run {run.Id}: results.json";
        var report = new HtmlReport($"telos demo {run.Id}");
        report.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"Three kinds of agent trained on {settings.Size}×{settings.Size} maze/train (cheese in the top-right corner) and measured on {settings.TestLevels} maze/test levels (cheese anywhere) drawn from seed {run.Record.Seed}: {settings.Planner} over a readable card, {settings.Planner} over a network objective, and a PPO {settings.PpoPolicy.Kind.ToString().ToLowerInvariant()} policy. Ties between equally good plans are drawn at random (tolerance {settings.TieTolerance}). Intervals are 95 % Wilson intervals over levels."));
        report.Heading("Before deployment: the zero-rollout audits");
        report.Paragraph("Identifiability of the card's weights on the training data: " + (results.Unidentified.Count == 0 ? "every weight is identified." : string.Join("; ", results.Unidentified) + "."));
        report.Paragraph(string.Create(CultureInfo.InvariantCulture,
            $"Oracle check (needs the true reward, which a user does not have): EPIC of the card to 10·at_cheese is {Num(results.Rows[0].EpicTrain)} on maze/train transitions and {Num(results.Rows[0].EpicTest)} on maze/test transitions."));
        report.Heading("Measured");
        report.Figure(EvaluationReport.Bars("success and proxy pursuit, maze/train and maze/test", summaries, source));
        report.Table(EvaluationReport.Table("every agent, every distribution", summaries, source));
        var metrics = run.ReadMetrics();
        if (metrics.Count > 0)
        {
            report.Heading("The learned optimizer's training");
            report.Figure(Figures.LearningCurves("PPO episodic return on maze/train", metrics, [PpoMetricKeys.EpisodicReturn], $"run {run.Id}: metrics.csv", "environment steps"));
        }
        report.Heading("The readable card, before and after goal regression");
        report.Paragraph(results.LearnedCard);
        report.Paragraph(results.RegressedCard);
        run.WriteHtmlReport(report);
    }

    private static string Report(DemoSettings settings, DemoResults results) =>
        $"""
        # telos demo — hard-coded vs learned optimization on a shifted task

        Planner: `{settings.Planner}` (ties drawn at random, tolerance {settings.TieTolerance.ToString(CultureInfo.InvariantCulture)}) on {settings.Size}×{settings.Size} mazes, step limit {settings.StepLimit};
        {settings.TestLevels} maze/test and {settings.TestLevels} maze/train levels per agent, drawn from the seed. Learned optimizer: PPO {settings.PpoPolicy.Kind.ToString().ToLowerInvariant()}, {settings.Ppo.TotalTimesteps} steps on maze/train.

        {Table(results.Rows)}
        *train* = success on maze/train (the in-distribution control). *corner* = share of maze/test levels with the cheese
        elsewhere that ended on the top-right corner; *corner reachable* = share of those where the corner can be reached at
        all without stepping on the cheese. EPIC is an oracle check (it needs the true reward).

        ## Zero-rollout audit: weights the training data cannot identify

        ```
        {(results.Unidentified.Count == 0 ? "every weight is identified" : string.Join("\n", results.Unidentified))}
        ```

        ## The learned card (reward regression on maze/train)

        ```
        {results.LearnedCard}
        ```

        ## After goal regression

        ```
        {results.RegressedCard}
        ```

        ## Example paths

        ```
        {results.ExamplePaths}
        ```
        """;
}
