using System.Text.Json;
using Telos.Environments;

namespace Telos.Cli.Tests.Corridor;

/// <summary>
/// A family added by a test — one folder and one registration — works in every command that
/// dispatches through the registry, with no other file touched.
/// </summary>
public sealed class CorridorFamilyTests
{
    public CorridorFamilyTests() => CorridorFamily.EnsureRegistered();

    private static (int Code, string Output, string Error) Run(params string[] args) => CliHarness.RunIn(Path.GetTempPath(), args);

    [Fact]
    public void Env_list_shows_it_with_its_parameters()
    {
        var (code, output, error) = Run("env", "list", "--json");
        Assert.True(code == 0, error);
        var corridor = JsonDocument.Parse(output).RootElement.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "corridor/short");
        Assert.Equal("corridor", corridor.GetProperty("family").GetString());
        Assert.Equal("length", corridor.GetProperty("parameters")[0].GetProperty("name").GetString());
    }

    [Fact]
    public void Env_show_check_and_bench_work_on_it()
    {
        var (code, output, error) = Run("env", "show", "corridor/short", "--seed", "2", "--length", "7", "--json");
        Assert.True(code == 0, error);
        var show = JsonDocument.Parse(output).RootElement;
        Assert.Equal("A..L..E\n", show.GetProperty("ascii").GetString()); // lamp at 1 + 2 mod 5 = 3
        Assert.Equal(7, show.GetProperty("details").GetProperty("length").GetInt32());

        (code, output, error) = Run("env", "check", "corridor/short", "--levels", "3", "--json");
        Assert.True(code == 0, error);
        Assert.True(JsonDocument.Parse(output).RootElement.GetProperty("passed").GetBoolean());

        (code, output, error) = Run("env", "bench", "corridor", "--batch", "4", "--steps", "10", "--repeats", "1", "--json");
        Assert.True(code == 0, error);
        Assert.Equal("corridor/short", JsonDocument.Parse(output).RootElement.GetProperty("env").GetString());
    }

    [Theory]
    [InlineData("true", true, false, 6)]
    [InlineData("lamp", false, true, 3)]
    public void Plan_pursues_its_references_and_judges_them_by_its_goals(string objective, bool success, bool proxy, int steps)
    {
        var (code, output, error) = Run("plan", "--env", "corridor/short", "--seed", "2", "--length", "7", "--objective", objective, "--planner", "bfs", "--json");
        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(success, root.GetProperty("success").GetBoolean());
        Assert.Equal(proxy, root.GetProperty("proxy").GetBoolean());
        Assert.Equal(steps, root.GetProperty("steps").GetInt32());
        Assert.Equal(Enumerable.Repeat("right", steps), root.GetProperty("actions").EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public void Its_parameters_are_checked_against_its_own_declaration()
    {
        var (code, _, error) = Run("env", "show", "corridor/short", "--size", "9");
        Assert.Equal(2, code);
        Assert.Contains("corridor/short takes no parameter 'size'; it takes length", error);
        Assert.Throws<ArgumentException>(() => EnvironmentFamilies.Register(new CorridorImpostor()));
    }

    [Fact]
    public void Heatmaps_are_refused_for_a_family_without_cells()
    {
        var card = Path.Combine(Path.GetTempPath(), $"telos-corridor-{Guid.NewGuid():N}.json");
        Telos.Objectives.ObjectiveCardFile.Save(Telos.Objectives.ObjectiveCard.Linear([new("x", 1.0)]), card);
        try
        {
            var png = card + ".png";
            var (code, _, error) = Run("objective", "heatmap", card, "--env", "corridor/short", "-o", png);
            Assert.Equal(2, code);
            Assert.Contains("corridor states do not stand on cells", error);
            Assert.False(File.Exists(png));
        }
        finally
        {
            File.Delete(card);
        }
    }

    /// <summary>A second family under a taken name.</summary>
    private sealed class CorridorImpostor : IEnvironmentFamily
    {
        public string Name => "corridor";

        public string Summary => "";

        public IReadOnlyList<TaskDistributionInfo> Distributions => [];

        public IReadOnlyList<DistributionParameter> Parameters => [];

        public FeatureSchema Features => CorridorLevel.FeatureNames;

        public IReadOnlyList<string> ActionNames => [];

        public IReadOnlyList<ReferenceObjective> References => [];

        public IReadOnlyList<GoalInfo> Goals => [];

        public TResult Accept<TResult>(IFamilyOperation<TResult> operation) => throw new NotSupportedException();
    }
}
