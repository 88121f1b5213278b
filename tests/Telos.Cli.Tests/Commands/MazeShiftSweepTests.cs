using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Control;
using Telos.Lab.Experiments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Lab.Shift;
using Telos.Lab.Signatures;
using Telos.Lab.Sweeps;
using Telos.Learning.Objectives;
using Telos.Objectives;
using Telos.Randomness;
using Telos.Testing.Browser;

namespace Telos.Cli.Tests.Commands;

/// <summary>A reduced maze-shift sweep (objectives and a PPO cell × two seeds), run once straight for the tests below.</summary>
public sealed class MazeShiftSweepFixture : IDisposable
{
    /// <summary>experiments/maze-shift-quick.toml's questions at the smallest settings that still give every table and figure.</summary>
    public const string Config = """
        experiment = "maze-shift"
        size = 7
        step_limit = 40
        levels = 10
        train_levels = 5
        steps_per_level = 50
        net_levels = 3
        fit_steps = 50
        pairs = 50
        demo_levels = 3
        irl_steps = 10
        objectives = ["reward-linear", "reward-sparse", "reward-net", "demos-linear", "reward-linear-obs", "reward-net-feat"]
        planners = ["bfs"]
        audit_levels = 2
        ensemble_members = 2
        retarget_levels = 2
        steer_levels = 2
        gem_levels = 6
        label_budgets = [0, 1, 4]
        regression_steps = 100
        revealed_levels = 3
        probe_levels = 4

        [ppo-lstm]
        conv_channels = 4
        features = 8
        lstm_size = 8
        num_envs = 4
        num_steps = 16
        total_timesteps = 64
        num_minibatches = 2
        update_epochs = 1

        [sweep]
        seeds = [1, 2]

        [sweep.axes]
        agents = ["objectives", "ppo-lstm"]
        """;

    public MazeShiftSweepFixture()
    {
        Directory.CreateDirectory(Folder);
        ConfigPath = Path.Combine(Folder, "maze-shift-tiny.toml");
        File.WriteAllText(ConfigPath, Config);
        var root = Path.Combine(Folder, "straight");
        Code = TelosProcess.InProcess(root, "run", ConfigPath);
        Straight = new RunStore(root).List().Single().Directory;
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "telos-maze-shift-tests", Guid.NewGuid().ToString("N"));

    public string ConfigPath { get; }

    /// <summary>The straight sweep's exit code.</summary>
    public int Code { get; }

    /// <summary>The straight sweep's run directory.</summary>
    public string Straight { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>The maze-shift sweep: killed and resumed it gives the straight sweep's tables (its cross-cell section included); its report opens in Chromium.</summary>
public sealed class MazeShiftSweepTests(MazeShiftSweepFixture fixture) : IClassFixture<MazeShiftSweepFixture>
{
    [Fact]
    public void AKilledMazeShiftSweepResumedWithTheSameCommandGivesTheTablesOfAnUninterruptedOne()
    {
        Assert.Equal(0, fixture.Code);
        var killedRoot = Path.Combine(fixture.Folder, "killed");
        Assert.NotNull(TelosProcess.KillWhen(
            killedRoot, line => line.StartsWith("sweep 1/4", StringComparison.Ordinal) || line.StartsWith("sweep 2/4", StringComparison.Ordinal) || line.StartsWith("sweep 3/4", StringComparison.Ordinal),
            "run", fixture.ConfigPath, "--jobs", "2"));
        var record = Assert.Single(new RunStore(killedRoot).List());
        Assert.Equal("running (process gone)", record.StatusText);
        var plan = new ExperimentRunner(new RunStore(killedRoot), ExperimentCatalog.Discover())
            .Prepare(ConfigFile.Load(Path.Combine(record.Directory, "config.toml")), record.Name).Sweep!;
        Assert.True(TelosProcess.WaitUntilNoneMentions(record.Directory, TimeSpan.FromSeconds(120)));
        var states = plan.Cells.Select(c => SweepRunner.State(record.Directory, c)).ToList();
        Assert.DoesNotContain(CellState.Running, states);
        Assert.InRange(states.Count(s => s == CellState.Done), 1, 3);
        Assert.False(File.Exists(Path.Combine(record.Directory, "tables.md")));

        Assert.Equal(0, TelosProcess.InProcess(killedRoot, "resume", record.ShortId, "--jobs", "2"));
        foreach (var file in new[] { "tables.md", "tables.csv" })
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(fixture.Straight, file)), File.ReadAllBytes(Path.Combine(record.Directory, file)));
        }
        // The bytes compared include the experiment's cross-cell section: the AUC table and the retargeting maps.
        var tables = File.ReadAllLines(Path.Combine(record.Directory, "tables.md"));
        Assert.Contains("| score | points | failed | AUC | 95 % CI (bootstrap) |", tables);
        Assert.Contains(tables, l => l.StartsWith("## Retargeting map: ppo-lstm clamp", StringComparison.Ordinal));
        Assert.Equal(RunStatus.Completed, new RunStore(killedRoot).Find(record.Id).Status);
    }

    /// <summary>The thinking-time analysis runs on the cell's own levels and seed: at K = 0 it is the cell's measurement of the policy, to the count.</summary>
    [Fact]
    public void ThePolicyCellsThinkingCurveStartsAtItsOwnMeasurement()
    {
        Assert.Equal(0, fixture.Code);
        foreach (var cell in new[] { "002", "003" }) // ppo-lstm, seeds 1 and 2 (cells are configuration-major)
        {
            var results = RunResults.Read(Path.Combine(fixture.Straight, "cells", cell, "results.json")).Items.ToDictionary(r => r.Name);
            foreach (var distribution in new[] { "maze/train", "maze/test" })
            {
                var own = results["agent/ppo-lstm/" + distribution + "/success"].Rate!.Value;
                var k0 = results["analysis/thinking/ppo-lstm/k0/" + distribution + "/success"].Rate!.Value;
                Assert.Equal((own.Count, own.Of), (k0.Count, k0.Of));
                Assert.All(new[] { 1, 2, 4, 8 }, k => Assert.Equal(own.Of, results[$"analysis/thinking/ppo-lstm/k{k}/{distribution}/success"].Rate!.Value.Of));
            }
        }
    }

    /// <summary>
    /// Each cell keeps the paths its report draws: every agent's maze/test episodes on the first levels, from the level's start, one
    /// move (or a bump in place) at a time; under the true reward BFS ends every one on the cheese.
    /// </summary>
    [Fact]
    public void EveryCellKeepsItsAgentsPathsOnThePicturedLevels()
    {
        Assert.Equal(0, fixture.Code);
        foreach (var (cell, seed) in new[] { ("000", 1UL), ("001", 2UL), ("002", 1UL), ("003", 2UL) })
        {
            using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Straight, "cells", cell, "paths.json")));
            var agents = json.RootElement.EnumerateArray().ToList();
            var expectedAgents = cell is "000" or "001" ? new[] { "bfs + true", "bfs + reward-linear", "bfs + reward-sparse", "bfs + reward-net", "bfs + demos-linear", "bfs + reward-linear-obs", "bfs + reward-net-feat" } : ["ppo-lstm"];
            Assert.Equal(expectedAgents, agents.Select(a => a.GetProperty("agent").GetString()));
            var levels = Telos.Lab.Shift.ShiftMeasurement.Levels(seed, "shift", "test", 10).Take(3).ToArray();
            var mazes = Telos.Environments.MazeFamily.Instance.Typed("maze/test", Telos.Environments.DistributionParameters.Of(("size", 7), ("step_limit", 40)));
            foreach (var agent in agents)
            {
                Assert.Equal(levels, agent.GetProperty("levels").EnumerateArray().Select(l => l.GetInt64()));
                var paths = agent.GetProperty("cells").EnumerateArray().Select(p => p.EnumerateArray().Select(c => c.GetInt32()).ToArray()).ToArray();
                Assert.Equal(3, paths.Length);
                for (var i = 0; i < 3; i++)
                {
                    var maze = mazes.Level(levels[i]);
                    Assert.Equal(maze.Start, paths[i][0]);
                    Assert.All(paths[i].Zip(paths[i].Skip(1)), step =>
                        Assert.True(step.First == step.Second || Enumerable.Range(0, 4).Any(a => maze.Neighbour(step.First, a) == step.Second), $"{step.First} → {step.Second} is not a move"));
                    if (agent.GetProperty("agent").GetString() == "bfs + true")
                    {
                        Assert.Equal(maze.Cheese, paths[i][^1]);
                    }
                }
            }
        }
    }

    [Fact]
    public async Task TheSweepReportOpensInChromiumWithEveryFigureDrawn()
    {
        Assert.Equal(0, fixture.Code);
        var report = Path.Combine(fixture.Straight, "report.html");
        var page = await HeadlessChromium.OpenAsync(report);
        Assert.Empty(page.Errors);
        var html = File.ReadAllText(report);
        // Bars (train success, test success, corner, region), a scatter per audit score with a point, and the maps
        // (bfs swap, the ceiling, ppo-lstm steer and clamp).
        var expected = 4 + 7 + 4;
        Assert.True(page.Figures.Count >= expected, $"{page.Figures.Count} figures, expected at least {expected}");
        Assert.All(page.Figures, f => Assert.True(f.Width > 50 && f.Height > 50, $"a figure of {f.Width}×{f.Height}"));
        Assert.Contains("Zero-rollout audits as predictors of failure", html, StringComparison.Ordinal);
        Assert.Contains("Retargeting without training: success per target cell", html, StringComparison.Ordinal);
        Assert.Contains($"<h2>{System.Net.WebUtility.HtmlEncode("Form × input")}</h2>", html, StringComparison.Ordinal);
        Assert.Contains("audit/ensemble_test", html, StringComparison.Ordinal);

        // A cell's own report: its bars, per pictured level one heatmap with paths per objective (the true reward and
        // the six fitted ones) and the linear objective over the observation read back (one map) for the objectives cell, one
        // (the policy over the true reward) for the policy cell, whose training is too short for an episode to end and so
        // draws no learning curve.
        foreach (var (cell, figures) in new[] { ("000", 1 + (3 * 7) + 1), ("002", 1 + 3) })
        {
            var cellPage = await HeadlessChromium.OpenAsync(Path.Combine(fixture.Straight, "cells", cell, "report.html"));
            Assert.Empty(cellPage.Errors);
            Assert.Equal(figures, cellPage.Figures.Count);
            Assert.All(cellPage.Figures, f => Assert.True(f.Width > 50 && f.Height > 50, $"a figure of {f.Width}×{f.Height} in cell {cell}"));
        }
    }

    [Fact]
    public void EveryAnalysisIsRegisteredAndRunsOnTheAgentsItAppliesTo()
    {
        Assert.Equal(0, fixture.Code);
        Assert.Equal(["thinking", "goal-regression", "fine-tuning", "revealed-objective", "probes"], ShiftAnalyses.Names);
        var objectives = Results("000");
        var policy = Results("002");
        // goal regression: the reward-regression cards (reward-linear, reward-sparse), not the network or the IRL card.
        Assert.Contains("analysis/goal-regression/bfs + reward-linear/anchor/k4/maze/test/success", objectives.Keys);
        Assert.Contains("analysis/goal-regression/bfs + reward-sparse/no_anchor/k1/maze/train/success", objectives.Keys);
        Assert.DoesNotContain(objectives.Keys, k => k.StartsWith("analysis/goal-regression/bfs + demos-linear/", StringComparison.Ordinal) || k.StartsWith("analysis/goal-regression/bfs + reward-net/", StringComparison.Ordinal));
        // probes: the policy, and the network objective's hidden layers as the control (not a card).
        Assert.Contains(objectives.Keys, k => k.StartsWith("analysis/probes/bfs + reward-net/net.", StringComparison.Ordinal) && k.EndsWith("/cheese_cell/held_out_accuracy", StringComparison.Ordinal));
        Assert.DoesNotContain(objectives.Keys, k => k.StartsWith("analysis/probes/bfs + reward-linear/", StringComparison.Ordinal));
        Assert.Contains("analysis/probes/ppo-lstm/observation/action_4/held_out_accuracy", policy.Keys);
        Assert.Contains("analysis/fine-tuning/ppo-lstm/k4/maze/test/success", policy.Keys);
        Assert.Contains("analysis/revealed-objective/ppo-lstm/card/at_cheese", policy.Keys);
        Assert.DoesNotContain(objectives.Keys, k => k.StartsWith("analysis/fine-tuning/", StringComparison.Ordinal) || k.StartsWith("analysis/revealed-objective/", StringComparison.Ordinal));
    }

    /// <summary>The card's k-curve is the library's (<see cref="LabControl.ForCard{TState}"/>) on the cell's card, data, levels and seeds; at k = 0 it is the cell's own measurement.</summary>
    [Fact]
    public void TheGoalRegressionAnalysisIsTheLibrarysCurveOnTheCellsCard()
    {
        Assert.Equal(0, fixture.Code);
        var results = Results("000"); // objectives, seed 1
        var cell = Cell.Of(1);
        var card = ObjectiveCardFile.Load(Path.Combine(fixture.Straight, "cells", "000", "objectives", "reward-linear.json"));
        var data = ObjectiveData.Sample("maze/train", cell.Levels.Parameters, 5, 50, (ulong)Seeds.DeriveLong(1, "objectives"), ShiftMeasurement.FirstLevel(1, "shift", "data"));
        var settings = LabControl.Regression([0, 1, 4], 100, Seeds.DeriveLong(1, "analysis/goal-regression/training"), (ulong)Seeds.DeriveLong(1, "analysis/goal-regression/labels"));
        var direct = LabControl.ForCard(MazeFamily.Instance, "bfs + reward-linear", card, data, Planner, cell.Levels, settings);
        var prefix = "analysis/goal-regression/bfs + reward-linear";
        foreach (var point in direct.Curve)
        {
            var name = $"{prefix}/{ShiftAnalysisResults.Part(point.Variant)}/k{point.Budget}";
            AssertRate(point.Summary.Success, results[$"{name}/{point.Summary.Distribution}/success"]);
            AssertRate(point.Summary.Proxy, results[$"{name}/{point.Summary.Distribution}/proxy"]);
            Assert.Equal(point.GoalLabels, results[name + "/goal_labels"].Value);
        }
        foreach (var row in direct.Costs.Where(r => r.Success is not null))
        {
            AssertRate(row.Success!.Value, results[$"{prefix}/cost/{row.Operation}/success"]);
        }
        Assert.Equal(100, results[prefix + "/anchor/k4/gradient_steps"].Value);
        foreach (var distribution in new[] { "maze/train", "maze/test" })
        {
            AssertRate(results["agent/bfs + reward-linear/" + distribution + "/success"].Rate!.Value, results[$"{prefix}/no_anchor/k0/{distribution}/success"]);
        }
    }

    /// <summary>The policy analyses are the library's functions on the cell's policy (its final checkpoint), levels and seeds.</summary>
    [Fact]
    public void ThePolicyAnalysesAreTheLibrarysFunctionsOnTheCellsPolicy()
    {
        Assert.Equal(0, fixture.Code);
        var results = Results("003"); // ppo-lstm, seed 2
        var cell = Cell.Of(2);
        var (policy, _) = PolicyCheckpoints.Load(PolicyCheckpoints.FindAt(Path.Combine(fixture.Straight, "cells", "003")));
        using (policy)
        {
            var family = MazeFamily.Instance;
            var fineTuning = PolicyFineTuning.Run(family, "ppo-lstm", policy, cell.Levels,
                new FineTuneSettings([0, 1, 4], 1, LabControl.FineTunePpo, (ulong)Seeds.DeriveLong(2, "analysis/fine-tuning/ppo")));
            foreach (var point in fineTuning)
            {
                AssertRate(point.Summary.Success, results[$"analysis/fine-tuning/ppo-lstm/k{point.Budget}/{point.Summary.Distribution}/success"]);
                Assert.Equal(point.Cost.EnvironmentSteps, results[$"analysis/fine-tuning/ppo-lstm/k{point.Budget}/environment_steps"].Value);
            }
            Assert.Equal(4, results["analysis/fine-tuning/ppo-lstm/k4/environment_steps"].Value);

            var fitOn = cell.Levels with { TrainSeeds = ShiftMeasurement.Levels(2, "shift", "revealed-train", 3), TestSeeds = ShiftMeasurement.Levels(2, "shift", "revealed-test", 3) };
            using var lanes = new Telos.Learning.Reinforcement.PolicyAgent<MazeState>(policy, Telos.Lab.Evaluation.AgentEvaluations.PolicyLanes, "ppo-lstm");
            var revealed = RevealedObjective.Fit(family, "ppo-lstm", lanes, fitOn, cell.Levels, Planner, new MaxEntIrlOptions());
            for (var i = 0; i < revealed.Card.Features.Length; i++)
            {
                Assert.Equal(revealed.Card.Weights[i], results[$"analysis/revealed-objective/ppo-lstm/card/{revealed.Card.Features[i]}"].Value);
            }
            Assert.Equal(6, results["analysis/revealed-objective/ppo-lstm/demonstrations"].Value);
            foreach (var explained in revealed.Explained)
            {
                AssertRate(explained.SameEnding, results[$"analysis/revealed-objective/ppo-lstm/{explained.Objective}/{explained.Distribution}/same_ending"]);
            }

            var probes = PlanningSignatures.ProbePolicy(family, "ppo-lstm", policy, "maze/test", cell.Levels.Parameters, ShiftMeasurement.Levels(2, "shift", "probe", 4), cell.Levels.EvaluationSeed,
                [PlanningSignatures.CheeseCell(7)], ProbeSettings.Default((ulong)Seeds.DeriveLong(2, "analysis/probes/split")));
            Assert.NotEmpty(probes);
            foreach (var row in probes)
            {
                Assert.Equal(row.HeldOutAccuracy, results[$"analysis/probes/ppo-lstm/{row.Point}/{ShiftAnalysisResults.Part(row.Target)}/held_out_accuracy"].Value);
            }
        }
    }

    /// <summary>
    /// Retargeting to the gem: each cell's <c>retarget/gem/AGENT/HANDLE/success</c> and <c>…/reachable</c> are the library's
    /// <see cref="Retargeting.Gem"/> on the cell's gem levels, card and policy (recomputed here), and the sweep's tables merge them over seeds.
    /// </summary>
    [Fact]
    public void TheGemRetargetingIsTheLibrarysOnTheCellsLevelsAndTheSweepMergesIt()
    {
        Assert.Equal(0, fixture.Code);
        var test = DistributionParameters.Of(("size", 7), ("step_limit", 40));
        var swaps = new List<Rate>();
        foreach (var (cell, seed) in new[] { ("000", 1L), ("001", 2L) }) // objectives, seeds 1 and 2
        {
            var results = Results(cell);
            var levels = ShiftMeasurement.Levels((ulong)seed, "shift", "gem", 6);
            var evaluation = (ulong)Seeds.DeriveLong((ulong)seed, "evaluation");
            var swap = Retargeting.Gem(test, levels, evaluation, "swap", (_, _) => AgentActions.Lanes(Planner(AgentObjective<MazeState>.FromCard(MazeFamily.GemReference.Card, "gem")), 1));
            AssertRate(swap.Success, results["retarget/gem/bfs/swap/success"]);
            AssertRate(swap.SuccessCeiling, results["retarget/gem/bfs/swap/reachable"]);
            Assert.Equal(6, swap.Success.Of);
            swaps.Add(swap.Success);
            var card = ObjectiveCardFile.Load(Path.Combine(fixture.Straight, "cells", cell, "objectives", "reward-linear.json"));
            var edited = card.SetWeight("at_cheese", 0).AddWeight(Maze.AtGem, 1);
            var edit = Retargeting.Gem(test, levels, evaluation, "edit", (_, _) => AgentActions.Lanes(Planner(AgentObjective<MazeState>.FromCard(edited, "edit")), 1));
            AssertRate(edit.Success, results["retarget/gem/bfs/edit/success"]);
            var noCorner = Retargeting.Gem(test, levels, evaluation, "edit-no-corner",
                (_, _) => AgentActions.Lanes(Planner(AgentObjective<MazeState>.FromCard(edited.SetWeight("at_corner", 0), "edit-no-corner")), 1));
            AssertRate(noCorner.Success, results["retarget/gem/bfs/edit-no-corner/success"]);
            Assert.Contains("retarget/gem/bfs/none/success", results.Keys);
        }
        var policy = Results("003"); // ppo-lstm, seed 2: the same gem levels as the objectives cell of seed 2, so the same ceiling
        AssertRate(Results("001")["retarget/gem/bfs/swap/reachable"].Rate!.Value, policy["retarget/gem/ppo-lstm/steer/reachable"]);
        var (network, _) = PolicyCheckpoints.Load(PolicyCheckpoints.FindAt(Path.Combine(fixture.Straight, "cells", "003")));
        using (network)
        {
            var none = Retargeting.Gem(test, ShiftMeasurement.Levels(2, "shift", "gem", 6), (ulong)Seeds.DeriveLong(2, "evaluation"), "none",
                (_, _) => Retargeting.WithoutGem(new Telos.Learning.Reinforcement.PolicyAgent<MazeState>(network, Telos.Lab.Evaluation.AgentEvaluations.PolicyLanes, "none")));
            AssertRate(none.Success, policy["retarget/gem/ppo-lstm/none/success"]);
        }
        foreach (var handle in new[] { "none", "steer", "clamp" })
        {
            Assert.Equal(6, policy[$"retarget/gem/ppo-lstm/{handle}/success"].Rate!.Value.Of);
        }

        var tables = File.ReadAllLines(Path.Combine(fixture.Straight, "tables.md"));
        Assert.Contains("## Retargeting to the gem", tables);
        var mean = (swaps[0].Value + swaps[1].Value) / 2;
        var row = Assert.Single(tables, l => l.Contains("| bfs | swap |", StringComparison.Ordinal));
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"| bfs | swap | 2 | {mean:F3}"), row, StringComparison.Ordinal);
        Assert.Single(tables, l => l.Contains("| ppo-lstm | clamp | 2 |", StringComparison.Ordinal));
    }

    /// <summary>
    /// <c>policies_from</c>: policy cells that load the straight sweep's final checkpoints instead of training measure them as the
    /// straight cells did, to the count, and run only the analyses the config selects.
    /// </summary>
    [Fact]
    public void PolicyCellsWithPoliciesFromLoadTheEarlierSweepsPoliciesAndMeasureThemToTheCount()
    {
        Assert.Equal(0, fixture.Code);
        var root = Path.Combine(fixture.Folder, "reused");
        var config = PolicyOnlyConfig();
        Assert.Equal(0, TelosProcess.InProcess(root, "run", config, "--set", $"policies_from=\"{fixture.Straight}\"", "--set", "analyses=[\"fine-tuning\"]"));
        var reused = new RunStore(root).List().Single().Directory;
        foreach (var (cell, straight) in new[] { ("000", "002"), ("001", "003") })
        {
            var dir = Path.Combine(reused, "cells", cell);
            Assert.Empty(RunFiles.Checkpoints(dir));
            Assert.False(File.Exists(Path.Combine(dir, "metrics.csv")), "the policy was trained again");
            var mine = RunResults.Read(Path.Combine(dir, RunResults.FileName)).Items;
            var theirs = RunResults.Read(Path.Combine(fixture.Straight, "cells", straight, RunResults.FileName)).Items;
            // Every result but those of the analyses left out, each with the same value and count.
            var expected = theirs.Where(r => !r.Name.StartsWith("analysis/", StringComparison.Ordinal) || r.Name.StartsWith("analysis/fine-tuning/", StringComparison.Ordinal)).ToList();
            Assert.Contains(expected, r => r.Name.StartsWith("analysis/fine-tuning/", StringComparison.Ordinal));
            Assert.Equal(expected, mine);
        }
    }

    [Fact]
    public void PoliciesFromRefusesAMissingCellOtherTrainingSettingsAndADirectoryThatIsNoSweep()
    {
        Assert.Equal(0, fixture.Code);
        var root = Path.Combine(fixture.Folder, "refused");
        var config = PolicyOnlyConfig();
        var from = $"policies_from=\"{fixture.Straight}\"";
        var cases = new (string[] Sets, string Message)[]
        {
            ([from, "ppo-lstm.total_timesteps=128"], $"error: [sweep] cell (agents=\"ppo-lstm\", seed=1): policies_from: cell {Path.Combine(fixture.Straight, "cells", "002", "config.toml")} (agents = \"ppo-lstm\", region = 1, seed = 1) was trained with other settings: ppo-lstm.total_timesteps: 64 → 128"),
            ([from, "sweep.seeds=[3]"], $"error: [sweep] cell (agents=\"ppo-lstm\", seed=3): policies_from: {fixture.Straight} has no maze-shift cell with agents = \"ppo-lstm\", region = 1, seed = 3"),
            ([$"policies_from=\"{fixture.Folder}\""], $"error: [sweep] cell (agents=\"ppo-lstm\", seed=1): policies_from: {fixture.Folder} is not a sweep's run directory (no cells/)"),
        };
        foreach (var (sets, message) in cases)
        {
            var (code, _, error) = CliHarness.RunIn(root, ["run", config, .. sets.SelectMany(a => new[] { "--set", a })]);
            Assert.Equal(2, code);
            Assert.Equal(message, error.TrimEnd('\n'));
        }
        Assert.False(Directory.Exists(root) && new RunStore(root).List().Count > 0, "a refused sweep left a run");
    }

    private string PolicyOnlyConfig()
    {
        var path = Path.Combine(fixture.Folder, "maze-shift-policies.toml");
        File.WriteAllText(path, MazeShiftSweepFixture.Config.Replace("agents = [\"objectives\", \"ppo-lstm\"]", "agents = [\"ppo-lstm\"]", StringComparison.Ordinal));
        return path;
    }

    private Dictionary<string, RunResult> Results(string cell) =>
        RunResults.Read(Path.Combine(fixture.Straight, "cells", cell, RunResults.FileName)).Items.ToDictionary(r => r.Name);

    private static IAgent<MazeState> Planner(AgentObjective<MazeState> objective) =>
        new PlanningAgent<MazeState>(Telos.Planning.Planners.Create("bfs", MazeFamily.Instance), objective, Telos.Planning.PlanBudget.Default with { TieTolerance = 0.01 });

    private static void AssertRate(Rate expected, RunResult actual) => Assert.Equal((expected.Count, expected.Of), (actual.Rate!.Value.Count, actual.Rate.Value.Of));

    /// <summary>The fixture's cell levels of a seed, drawn as the cell draws them.</summary>
    private sealed record Cell(AnalysisLevels Levels)
    {
        public static Cell Of(long seed) => new(new AnalysisLevels(DistributionParameters.Of(("size", 7), ("step_limit", 40), ("region", 1)),
            ShiftMeasurement.Levels((ulong)seed, "shift", "train", 10), ShiftMeasurement.Levels((ulong)seed, "shift", "test", 10), (ulong)Seeds.DeriveLong((ulong)seed, "evaluation")));
    }
}
