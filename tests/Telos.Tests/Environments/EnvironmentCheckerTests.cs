using Telos.Environments;

namespace Telos.Tests.Environments;

public sealed class EnvironmentCheckerTests
{
    [Theory]
    [InlineData("maze/train", 13)]
    [InlineData("maze/test", 5)]
    [InlineData("maze/far", 25)]
    public void Every_maze_distribution_passes(string name, int size)
    {
        for (var seed = 0; seed < 3; seed++)
        {
            var level = TaskDistributions.Maze(name, size, stepLimit: 3 * size).Level(seed);
            var report = EnvironmentChecker.Check(level, 0f, Maze.CheeseReward, seed: (ulong)seed);
            Assert.True(report.Passed, string.Join("\n", report.Failures));
            Assert.True(report.StepsChecked > 0);
        }
    }

    [Theory]
    [InlineData("kc/train")]
    [InlineData("kc/test")]
    public void Every_keys_and_chests_distribution_passes(string name)
    {
        for (var seed = 0; seed < 3; seed++)
        {
            var level = TaskDistributions.KeysAndChests(name, 5, stepLimit: 40).Level(seed);
            var report = EnvironmentChecker.Check(level, 0f, KeysAndChests.ChestReward, seed: (ulong)seed);
            Assert.True(report.Passed, string.Join("\n", report.Failures));
        }
    }

    [Fact]
    public void A_reward_outside_the_bounds_is_caught()
    {
        var maze = Maze.Parse("""
            .C
            ..
            """);
        var report = EnvironmentChecker.Check(maze, 0f, 1f, episodes: 20);
        Assert.Contains(report.Failures, f => f.Contains("reward 10 outside", StringComparison.Ordinal));
    }

    [Fact]
    public void An_impure_step_and_a_bad_observation_are_caught()
    {
        var report = EnvironmentChecker.Check(new LeakyCounter(), 0f, 1f);
        var all = string.Join("\n", report.Failures);
        Assert.Contains(report.Failures, f => f.Contains("not deterministic", StringComparison.Ordinal));
        Assert.True(all.Contains("wrote past", StringComparison.Ordinal) && all.Contains("still running", StringComparison.Ordinal), all);
        Assert.Contains(report.Failures, f => f.Contains("wrote past", StringComparison.Ordinal));
        Assert.Contains(report.Failures, f => f.Contains("still running after the step limit", StringComparison.Ordinal));
    }

    /// <summary>Breaks the contract on purpose: hidden mutable state, an observation one float too long, no truncation.</summary>
    private sealed class LeakyCounter : IEnvironment<MazeState>
    {
        private int _calls;

        public string Name => "leaky";

        public int ActionCount => 2;

        public MazeState Initial => new(0, 0);

        public int StepLimit => 5;

        public FeatureSchema Features { get; } = new(["calls"]);

        public ObservationShape ObservationShape => new(1, 1, 2);

        public StepResult<MazeState> Step(in MazeState state, int action) =>
            new(new MazeState(state.Cell, state.Steps + 1), _calls++ % 3 == 0 ? 0f : 0.5f, false, false);

        public void LegalActions(in MazeState state, Span<bool> legal) => legal.Fill(true);

        public void WriteFeatures(in MazeState state, Span<double> features) => features[0] = 1;

        public void WriteObservation(in MazeState state, Span<float> observation)
        {
            // Pretends the observation is 3 floats long: writes past the 2 it declared.
            var wider = System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref observation[0], 3);
            wider.Clear();
        }
    }
}
