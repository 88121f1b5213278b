using System.Globalization;
using Telos.Agents;
using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Evaluation;
using Telos.Lab.Experiments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Lab.Shift;
using Telos.Lab.Sweeps;
using Telos.Learning.Objectives;
using Telos.Objectives;
using Telos.Randomness;

namespace Telos.Cli.Tests.Commands;

/// <summary>A reduced keys-chests sweep (objectives and a PPO cell × two seeds), run once straight for the tests below.</summary>
public sealed class KeysChestsSweepFixture : IDisposable
{
    /// <summary>experiments/keys-chests-quick.toml's questions at the smallest settings that still give every table.</summary>
    public const string Config = """
        experiment = "keys-chests"
        size = 5
        step_limit = 40
        max_minority = 2
        levels = 12
        train_levels = 4
        steps_per_level = 40
        net_levels = 2
        fit_steps = 30
        pairs = 30
        demo_levels = 1
        irl_steps = 5
        objectives = ["reward-linear", "prefs-linear", "prefs-net", "demos-linear", "reward-linear-obs", "prefs-net-feat"]
        audit_levels = 1
        ensemble_members = 2
        steer_levels = 2

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

    public KeysChestsSweepFixture()
    {
        Directory.CreateDirectory(Folder);
        ConfigPath = Path.Combine(Folder, "keys-chests-tiny.toml");
        File.WriteAllText(ConfigPath, Config);
        var root = Path.Combine(Folder, "straight");
        Code = TelosProcess.InProcess(root, "run", ConfigPath);
        Straight = new RunStore(root).List().Single().Directory;
    }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "telos-keys-chests-tests", Guid.NewGuid().ToString("N"));

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

/// <summary>The keys-chests sweep: killed and resumed it gives the straight sweep's tables; its hoarding counts are a direct evaluation of the same agents on the same rooms.</summary>
public sealed class KeysChestsSweepTests(KeysChestsSweepFixture fixture) : IClassFixture<KeysChestsSweepFixture>
{
    private static readonly DistributionParameters Rooms = DistributionParameters.Of(("size", 5), ("max_minority", 2), ("step_limit", 40));

    [Fact]
    public void AKilledKeysChestsSweepResumedWithTheSameCommandGivesTheTablesOfAnUninterruptedOne()
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
        // The bytes compared include the experiment's cross-cell section: the hoarding table and the audits' AUC.
        var tables = File.ReadAllLines(Path.Combine(record.Directory, "tables.md"));
        Assert.Contains("## Hoarding against chest opening: every agent on kc/train and kc/test", tables);
        Assert.Contains("| score | points | failed | AUC | 95 % CI (bootstrap) |", tables);
        Assert.Equal(RunStatus.Completed, new RunStore(killedRoot).Find(record.Id).Status);
    }

    /// <summary>
    /// BFS over the true reward and over the cell's own reward-linear card (a hoarder: it values keys), run directly through the one
    /// evaluation path on the cell's kc/test rooms with its seed, gives the cells' counts exactly and the across-cells table's means over seeds.
    /// </summary>
    [Theory]
    [InlineData("true")]
    [InlineData("reward-linear")]
    public void ThePlannersHoardingCountsInTheTablesAreADirectEvaluationOnTheSameRooms(string objective)
    {
        Assert.Equal(0, fixture.Code);
        var agent = "bfs + " + objective;
        var direct = new List<EvaluationSummary>();
        foreach (var (cell, seed) in new[] { ("000", 1UL), ("001", 2UL) })
        {
            var loaded = objective == "true"
                ? KeysChestsShiftExperiment.TrueReward()
                : LoadedObjective.Of(ObjectiveCardFile.Load(Path.Combine(fixture.Straight, "cells", cell, "objectives", objective + ".json")));
            var planner = new PlanningAgent<KeysAndChestsState>(Telos.Planning.Planners.Create("bfs", KeysAndChestsFamily.Instance), loaded.ForAgent<KeysAndChestsState>(agent),
                Telos.Planning.PlanBudget.Default with { TieTolerance = 0.01 });
            var summary = Evaluate(AgentActions.Lanes(planner, 1), seed);
            AssertCellCounts(cell, agent, summary);
            direct.Add(summary);
        }
        Assert.True(direct.Sum(s => Count(s, "keys_taken").Mean) > 0, "no key taken: the comparison would pass on any empty count");
        AssertTableRow("agents=\"objectives\"", agent, direct);
    }

    /// <summary>The policy cells' counts: the cell's final checkpoint run directly on the same rooms with the same seed.</summary>
    [Fact]
    public void ThePolicysHoardingCountsInTheTablesAreADirectEvaluationOfItsCheckpointOnTheSameRooms()
    {
        Assert.Equal(0, fixture.Code);
        var direct = new List<EvaluationSummary>();
        foreach (var (cell, seed) in new[] { ("002", 1UL), ("003", 2UL) })
        {
            var (policy, metadata) = PolicyCheckpoints.Load(PolicyCheckpoints.FindAt(Path.Combine(fixture.Straight, "cells", cell)));
            using (policy)
            {
                var summary = AgentEvaluations.RunPolicy(KeysAndChestsFamily.Instance, policy, metadata.Architecture, "kc/test", Rooms, Levels(seed, "test"), EvaluationSeed(seed)).Summary;
                AssertCellCounts(cell, "ppo-lstm", summary);
                direct.Add(summary);
            }
        }
        AssertTableRow("agents=\"ppo-lstm\"", "ppo-lstm", direct);
    }

    /// <summary>
    /// The seed-ensemble audit runs for every gradient-fitted objective (not MaxEnt IRL, which has no random initialization) and sees
    /// only what the initialization changes: zero for the linear card over features (full-batch Adam from zero), above zero for the
    /// nets; the AUC table counts its points; and the form × input rows are the means over seeds of the cells' results.
    /// </summary>
    [Fact]
    public void TheEnsembleAuditAndTheFormByInputTableCoverEveryObjective()
    {
        Assert.Equal(0, fixture.Code);
        var cells = new[] { "000", "001" }.Select(c => RunResults.Read(Path.Combine(fixture.Straight, "cells", c, RunResults.FileName)).Items.ToDictionary(r => r.Name)).ToList();
        foreach (var results in cells)
        {
            Assert.Equal(0.0, results["objective/reward-linear/audit/ensemble_train"].Value);
            Assert.True(results["objective/prefs-net/audit/ensemble_train"].Value > 0);
            Assert.True(results["objective/prefs-net-feat/audit/ensemble_test"].Value > 0);
            Assert.True(results.ContainsKey("objective/reward-linear-obs/audit/ensemble_test"));
            Assert.False(results.ContainsKey("objective/demos-linear/audit/ensemble_train"));
        }
        var tables = File.ReadAllLines(Path.Combine(fixture.Straight, "tables.md"));
        // Five gradient-fitted objectives × two seeds under one planner.
        Assert.Single(tables, l => l.StartsWith("| audit/ensemble_train | 10 |", StringComparison.Ordinal));
        Assert.Contains("## Form × input", tables);
        static string Mean(IEnumerable<double> values) => values.Average().ToString("F3", CultureInfo.InvariantCulture);
        foreach (var (objective, form, input) in new[] { ("reward-linear-obs", "linear", "one-hot observation"), ("prefs-net-feat", "net", "named features") })
        {
            var signal = objective.Split('-')[0];
            var row = tables.Single(l => l.StartsWith($"| all | bfs | {signal} | {form} | {input} |", StringComparison.Ordinal)).Split('|').Select(c => c.Trim()).ToList();
            Assert.Equal(Mean(cells.Select(r => r[$"agent/bfs + {objective}/kc/test/success"].Value)), row[7].Split(' ')[0]);
            Assert.Equal(Mean(cells.Select(r => r[$"agent/bfs + {objective}/kc/test/keys_beyond_chests/positive"].Value)), row[8].Split(' ')[0]);
        }
        Assert.Single(tables, l => l.StartsWith("| all | ppo-lstm | PPO (environment reward) | policy | one-hot observation |", StringComparison.Ordinal));
    }

    private static EvaluationSummary Evaluate(IBatchedAgent<KeysAndChestsState> agent, ulong seed) =>
        AgentEvaluation.Evaluate(agent, KeysAndChestsFamily.Instance, "kc/test", Rooms, Levels(seed, "test"), EvaluationSeed(seed), new EvaluationOptions(Goal: "chests")).Summary;

    private static long[] Levels(ulong seed, string name) => ShiftMeasurement.Levels(seed, "kc-shift", name, 12);

    private static ulong EvaluationSeed(ulong seed) => (ulong)Seeds.DeriveLong(seed, "evaluation");

    private static CountSummary Count(EvaluationSummary summary, string name) => summary.Counts.Single(c => c.Name == name);

    /// <summary>The cell's results hold the direct evaluation's counts exactly.</summary>
    private void AssertCellCounts(string cell, string agent, EvaluationSummary direct)
    {
        var results = RunResults.Read(Path.Combine(fixture.Straight, "cells", cell, RunResults.FileName)).Items.ToDictionary(r => r.Name);
        foreach (var name in new[] { "chests_opened", "keys_taken", "keys_beyond_chests" })
        {
            var count = Count(direct, name);
            Assert.Equal(count.Mean, results[$"agent/{agent}/kc/test/{name}/mean"].Value);
            var positive = results[$"agent/{agent}/kc/test/{name}/positive"].Rate!.Value;
            Assert.Equal((count.Positive.Count, count.Positive.Of), (positive.Count, positive.Of));
        }
    }

    /// <summary>The across-cells table's row for the agent: its count columns are the means over seeds of the direct evaluations.</summary>
    private void AssertTableRow(string configuration, string agent, List<EvaluationSummary> direct)
    {
        var header = File.ReadLines(Path.Combine(fixture.Straight, "tables.md")).First(l => l.StartsWith("| configuration | agent | seeds |", StringComparison.Ordinal)).Split('|').Select(c => c.Trim()).ToList();
        var row = File.ReadLines(Path.Combine(fixture.Straight, "tables.md")).Single(l => l.StartsWith($"| {configuration} | {agent} |", StringComparison.Ordinal)).Split('|').Select(c => c.Trim()).ToList();
        string Column(string title) => row[header.IndexOf(title)].Split(' ')[0];
        static string Mean(IEnumerable<double> values) => values.Average().ToString("F3", CultureInfo.InvariantCulture);
        Assert.Equal(Mean(direct.Select(s => Count(s, "chests_opened").Mean)), Column("chests opened (mean)"));
        Assert.Equal(Mean(direct.Select(s => Count(s, "keys_taken").Mean)), Column("keys taken (mean)"));
        Assert.Equal(Mean(direct.Select(s => Count(s, "keys_beyond_chests").Mean)), Column("spare keys (mean)"));
        Assert.Equal(Mean(direct.Select(s => Count(s, "keys_beyond_chests").Positive.Value)), Column("spare key picked up"));
    }
}
