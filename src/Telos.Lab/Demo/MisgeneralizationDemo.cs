using System.Globalization;
using System.Text;
using System.Text.Json;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Learning.Objectives;
using Telos.Objectives;
using Telos.Planning;

namespace Telos.Lab.Demo;

/// <summary>Settings of <see cref="MisgeneralizationDemo"/>.</summary>
/// <param name="Size">Maze side (odd, 5–25).</param>
/// <param name="TrainLevels">maze/train levels the objective learns from.</param>
/// <param name="StepsPerLevel">Random-walk transitions sampled per training level.</param>
/// <param name="FitSteps">Optimizer steps of reward regression.</param>
/// <param name="TestLevels">maze/test levels every objective is planned on (seeds 1..N; the labels use others).</param>
/// <param name="LabelledLevels">maze/test levels whose corner and cheese the programmer labels for goal regression.</param>
/// <param name="AnchorWeight">λ of the anchor that keeps the objective near its old values on training states.</param>
/// <param name="Planner">The hard-coded optimizer: bfs, vi, mcts or gumbel.</param>
/// <param name="EpicLevels">Levels per distribution whose transitions EPIC correlates over.</param>
/// <param name="NetLevels">maze/train levels the opaque network objective learns from (full-batch training on observations is the slow part).</param>
public sealed record DemoSettings(int Size, int TrainLevels, int StepsPerLevel, int FitSteps, int TestLevels, int LabelledLevels,
    double AnchorWeight, string Planner, int EpicLevels, int NetLevels);

/// <summary>One row of the demo's before/after table, every number measured in the run.</summary>
/// <param name="Objective">Which objective the planner used.</param>
/// <param name="Goal">What counts as success for this row ("cheese" or the retargeted goal).</param>
/// <param name="Levels">maze/test levels planned on.</param>
/// <param name="Success">Share of levels where the agent ended on its goal.</param>
/// <param name="Corner">Share of levels (with the cheese elsewhere) where it ended on the top-right corner: proxy pursuit.</param>
/// <param name="MeanSteps">Mean moves per episode.</param>
/// <param name="OnCheese">Share of levels where the episode ended on the cheese (equals Success when the goal is the cheese).</param>
/// <param name="Reachable">Share of levels where the goal can be reached without stepping on the cheese (which ends a maze/test episode); 1 for the cheese goal.</param>
/// <param name="EpicTrain">EPIC distance to the true reward over maze/train transitions (null where not meaningful).</param>
/// <param name="EpicTest">EPIC distance to the true reward over maze/test transitions.</param>
public sealed record DemoRow(string Objective, string Goal, int Levels, double Success, double Corner, double MeanSteps, double OnCheese, double Reachable, double? EpicTrain, double? EpicTest);

/// <summary>What the demo measured; written to <c>results.json</c> in the run directory.</summary>
public sealed record DemoResults(string Planner, IReadOnlyList<DemoRow> Rows, DemoRow TrainReference, double CheeseWeight, double CornerWeight, string NetCard, string LearnedCard, string RegressedCard, string EditedCard, string ExamplePaths);

/// <summary>
/// The whole idea on one screen. An objective is learned by reward regression on maze/train, where
/// the cheese always sits in the top-right corner, so "at the cheese" and "at the corner" (and "far
/// up and right") are the same thing in every training example. A hard-coded planner (BFS by
/// default) then pursues that objective on maze/test, where the cheese is anywhere. Because the
/// objective is a readable card, the failure is visible before deployment (the corner weight; EPIC
/// to the true reward on test states), fixable by goal regression on a handful of labelled states
/// or by editing one weight, and the agent can be retargeted by swapping the objective, with no
/// training at all.
/// </summary>
public sealed class MisgeneralizationDemo : Experiment<DemoSettings>
{
    /// <summary>The demo's default config (also shipped as experiments/demo.toml).</summary>
    public const string DefaultConfig = """
        # telos demo: learn an objective on maze/train, watch a hard-coded planner pursue it on maze/test,
        # see the warning before deployment, fix the objective, retarget the agent.
        experiment = "demo"
        seed = 7

        size = 13               # maze side (odd)
        train_levels = 200      # maze/train levels (cheese in the top-right corner)
        steps_per_level = 200   # random-walk transitions per training level
        fit_steps = 400         # reward-regression optimizer steps
        test_levels = 200       # maze/test levels each objective is planned on
        labelled_levels = 3     # maze/test levels whose corner (0) and cheese (10) get goal labels
        anchor_weight = 1.0     # keeps the regressed objective near its old values on training states
        planner = "bfs"         # bfs | vi | mcts | gumbel
        epic_levels = 50        # levels per distribution for EPIC
        net_levels = 30         # maze/train levels for the opaque network objective
        """;

    public override string Kind => "demo";

    public override string Description => "Goal misgeneralization made visible and fixed: learn on maze/train, plan on maze/test, regress, edit, retarget.";

    public override DemoSettings Configure(ConfigTable config)
    {
        var size = config.GetInt("size", 13, 5, 25);
        if (size % 2 == 0)
        {
            throw config.Error("size", $"must be odd, got {size}");
        }
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
            config.GetInt("net_levels", 30, 1, 100_000));
    }

    public override int Run(ExperimentContext context, DemoSettings settings)
    {
        var run = context.Run;
        var progress = context.Progress;
        const int stages = 7;
        void Stage(int done, string what)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            progress.Report(new ProgressUpdate(Kind, done, stages, what));
            run.Log(what);
        }

        var train = TaskDistributions.Maze("maze/train", settings.Size);
        var test = TaskDistributions.Maze("maze/test", settings.Size);
        var trueReward = ObjectiveCard.Linear([new("at_cheese", 10.0)], provenance: Provenance.Manual);

        Stage(0, "sampling maze/train transitions");
        var data = TransitionSample.Collect<MazeState>(s => train.Level(s), settings.TrainLevels, settings.StepsPerLevel,
            seed: (ulong)context.DeriveSeed("train-walk"), firstSeed: 0, uniformStarts: true);

        Stage(1, "reward regression (linear form) on maze/train");
        var (learned, _) = ObjectiveTrainer.FitRewards(ObjectiveForm.Linear, data, "maze/train", new FormOptions(),
            new TrainingOptions(Steps: settings.FitSteps, Seed: context.DeriveSeed("fit")));
        run.WriteArtifact("objectives/learned.json", ObjectiveCardFile.ToJson(learned));

        Stage(2, "EPIC against the true reward on maze/train and maze/test");
        // Test levels for planning are seeds 1..N; EPIC and labels use disjoint seeds.
        var epicTrain = TransitionSample.Collect<MazeState>(s => train.Level(s), settings.EpicLevels, 100,
            seed: (ulong)context.DeriveSeed("epic-train"), firstSeed: 1_000_000, uniformStarts: true);
        var epicTest = TransitionSample.Collect<MazeState>(s => test.Level(s), settings.EpicLevels, 100,
            seed: (ulong)context.DeriveSeed("epic-test"), firstSeed: 1_000_000, uniformStarts: true);
        (double Train, double Test) EpicOf(ObjectiveCard card) =>
            (Epic.Distance(card.CompileTransition(), trueReward.CompileTransition(), epicTrain).Distance,
             Epic.Distance(card.CompileTransition(), trueReward.CompileTransition(), epicTest).Distance);

        var rows = new List<DemoRow>();
        var examples = new ExamplePictures();
        var testSeeds = Enumerable.Range(1, settings.TestLevels).Select(i => (long)i).ToArray();
        var evalSeed = (ulong)context.DeriveSeed("evaluation");
        static AgentObjective<MazeState> Readable(ObjectiveCard card) => AgentObjective<MazeState>.FromCard(card);

        Stage(3, $"planning ({settings.Planner}) with the learned objectives on maze/test");
        var (learnedTrain, learnedTest) = EpicOf(learned);
        rows.Add(Evaluate("linear", Readable(learned), "cheese", "maze/test", testSeeds, settings, learnedTrain, learnedTest, examples, evalSeed));
        var trainRow = Evaluate("linear (maze/train)", Readable(learned), "cheese", "maze/train", testSeeds, settings, null, null, null, evalSeed);

        // The opaque baseline: the same signal and data, a free network over one-hot observations.
        var observed = TransitionSample.Collect<MazeState>(s => train.Level(s), settings.NetLevels, settings.StepsPerLevel,
            seed: (ulong)context.DeriveSeed("train-walk"), firstSeed: 0, uniformStarts: true, observations: true);
        var (netCard, netModule) = ObjectiveTrainer.FitRewards(ObjectiveForm.Net, observed, "maze/train", new FormOptions(),
            new TrainingOptions(Steps: settings.FitSteps, LearningRate: 0.01, Seed: context.DeriveSeed("fit-net")));
        var net = LoadedObjective.Of(netCard, netModule);
        rows.Insert(0, Evaluate("net (opaque)", net.ForAgent<MazeState>("net"), "cheese", "maze/test", testSeeds, settings, null, null, examples, evalSeed));

        Stage(4, "goal regression on labelled maze/test states");
        // The programmer labels a few maze/test states: the cheese is worth 10, the corner and a few
        // other cells nothing. An anchor keeps the objective's values on training states.
        var labelled = new List<(Maze Level, MazeState State, double Value)>();
        var labelRng = context.Stream("labels");
        for (var seed = 2_000_000L; labelled.Count < 4 * settings.LabelledLevels; seed++)
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
        var (regTrain, regTest) = EpicOf(regressed);
        rows.Add(Evaluate("linear, regressed", Readable(regressed), "cheese", "maze/test", testSeeds, settings, regTrain, regTest, examples, evalSeed));

        Stage(5, "editing one weight by hand");
        var edited = learned.ZeroWeight("at_corner");
        run.WriteArtifact("objectives/edited.json", ObjectiveCardFile.ToJson(edited));
        var (editTrain, editTest) = EpicOf(edited);
        rows.Add(Evaluate("linear, edited", Readable(edited), "cheese", "maze/test", testSeeds, settings, editTrain, editTest, null, evalSeed));

        Stage(6, "retargeting by swapping the objective (no training)");
        var bottomRight = ObjectiveCard.Linear([new("x", 1.0), new("y", -1.0)], provenance: Provenance.Manual);
        run.WriteArtifact("objectives/bottom-right.json", ObjectiveCardFile.ToJson(bottomRight));
        rows.Add(Evaluate("swap: x − y", Readable(bottomRight), "bottom-right", "maze/test", testSeeds, settings, null, null, examples, evalSeed));
        var (trueTrain, trueTest) = EpicOf(trueReward);
        rows.Add(Evaluate("true reward", Readable(trueReward), "cheese", "maze/test", testSeeds, settings, trueTrain, trueTest, null, evalSeed));

        // The pictured level shows the opaque objective's most common failure: the first level where it ended on the corner.
        var exampleSeed = examples.FirstSeed(rows[0].Objective, "corner") ?? testSeeds[0];
        var paths = $"maze/test seed {exampleSeed} (S start, o path, M where the mouse ended, C cheese, * mouse on the cheese):\n"
            + SideBySide(rows.Select(r => examples.At(r.Objective, exampleSeed)).OfType<(string, string, string)>().ToList());
        var results = new DemoResults(settings.Planner, rows, trainRow, learned.Weight("at_cheese"), learned.Weight("at_corner"), netCard.Describe(), learned.Describe(), regressed.Describe(), edited.Describe(), paths);
        run.WriteArtifact("results.json", JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        run.WriteArtifact("paths.txt", paths);
        for (var i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            var metrics = new Dictionary<string, double> { ["success"] = r.Success, ["corner"] = r.Corner, ["mean_steps"] = r.MeanSteps };
            if (r.EpicTest is { } et)
            {
                metrics["epic_test"] = et;
            }
            if (r.EpicTrain is { } etr)
            {
                metrics["epic_train"] = etr;
            }
            run.LogMetrics(i, metrics);
        }
        run.WriteReport(Report(settings, results));
        progress.Report(new ProgressUpdate(Kind, stages, stages, "done"));
        return 0;
    }

    /// <summary>Renders the results as the table the CLI prints and the report holds.</summary>
    public static string Table(IReadOnlyList<DemoRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| objective | goal | success | corner (proxy) | mean steps | EPIC train | EPIC test |");
        sb.AppendLine("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Objective} | {r.Goal} | {r.Success * 100:F0}% | {(r.Goal == "cheese" ? $"{r.Corner * 100:F0}%" : "–")} | {r.MeanSteps:F1} | {Num(r.EpicTrain)} | {Num(r.EpicTest)} |");
        }
        return sb.ToString();
    }

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
    /// One row: the planner pursuing <paramref name="objective"/> on <paramref name="seeds"/> of <paramref name="distribution"/>,
    /// measured through the one evaluation path and judged by <paramref name="goal"/> (a maze goal: cheese or bottom-right).
    /// </summary>
    private static DemoRow Evaluate(string name, AgentObjective<MazeState> objective, string goal, string distribution, long[] seeds, DemoSettings settings,
        double? epicTrain, double? epicTest, ExamplePictures? examples, ulong seed)
    {
        var family = MazeFamily.Instance;
        var agent = new PlanningAgent<MazeState>(Planners.Create(settings.Planner, family), objective, PlanBudget.Default);
        var parameters = DistributionParameters.Of(("size", settings.Size));
        var result = AgentEvaluation.Evaluate(agent, family, distribution, parameters, seeds, seed,
            new EvaluationOptions(Goal: goal, KeepEpisodes: examples is not null));
        if (examples is not null)
        {
            var levels = family.Distribution(distribution, parameters);
            for (var i = 0; i < Math.Min(seeds.Length, ExamplePictures.Levels); i++)
            {
                var record = result.Records[i];
                var verdict = record.Ending == "bottom-right" ? "SE corner" : record.Ending;
                examples.Add(name, seeds[i], verdict, $"{verdict}, {record.Steps} moves", family.RenderPath(levels.Level(seeds[i]), result.Episodes![i].States));
            }
        }
        var summary = result.Summary;
        var onCheese = result.Records.Count(r => r.Ending == "cheese");
        return new DemoRow(name, goal == "cheese" ? "cheese" : "SE corner", summary.Levels, summary.Success.Value, summary.Proxy.Value, summary.MeanSteps,
            (double)onCheese / summary.Levels, summary.SuccessCeiling.Value, epicTrain, epicTest);
    }

    private static string Report(DemoSettings settings, DemoResults results) =>
        $"""
        # telos demo — goal misgeneralization, made visible and fixed

        Planner: `{settings.Planner}` on {settings.Size}×{settings.Size} mazes; {settings.TestLevels} maze/test levels per row.

        {Table(results.Rows)}
        ## The learned objective (reward regression on maze/train)

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
