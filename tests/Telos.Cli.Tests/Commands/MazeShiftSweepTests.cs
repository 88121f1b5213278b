using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Lab.Sweeps;
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
        objectives = ["reward-linear", "reward-sparse", "reward-net", "demos-linear"]
        planners = ["bfs"]
        audit_levels = 2
        retarget_levels = 2
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
            var expectedAgents = cell is "000" or "001" ? new[] { "bfs + true", "bfs + reward-linear", "bfs + reward-sparse", "bfs + reward-net", "bfs + demos-linear" } : ["ppo-lstm"];
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
        var expected = 4 + 5 + 4;
        Assert.True(page.Figures.Count >= expected, $"{page.Figures.Count} figures, expected at least {expected}");
        Assert.All(page.Figures, f => Assert.True(f.Width > 50 && f.Height > 50, $"a figure of {f.Width}×{f.Height}"));
        Assert.Contains("Zero-rollout audits as predictors of failure", html, StringComparison.Ordinal);
        Assert.Contains("Retargeting without training: success per target cell", html, StringComparison.Ordinal);

        // A cell's own report: its bars, and per pictured level one heatmap with paths per objective (the true reward and
        // the four fitted ones) for the objectives cell, one (the policy over the true reward) for the policy cell, whose
        // training is too short for an episode to end and so draws no learning curve.
        foreach (var (cell, figures) in new[] { ("000", 1 + (3 * 5)), ("002", 1 + 3) })
        {
            var cellPage = await HeadlessChromium.OpenAsync(Path.Combine(fixture.Straight, "cells", cell, "report.html"));
            Assert.Empty(cellPage.Errors);
            Assert.Equal(figures, cellPage.Figures.Count);
            Assert.All(cellPage.Figures, f => Assert.True(f.Width > 50 && f.Height > 50, $"a figure of {f.Width}×{f.Height} in cell {cell}"));
        }
    }
}
