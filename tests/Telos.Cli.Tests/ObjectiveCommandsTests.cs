using System.Text.Json;

namespace Telos.Cli.Tests;

public sealed class ObjectiveCommandsTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("telos-objective-cli-");

    public void Dispose() => _folder.Delete(recursive: true);

    private string P(string name) => Path.Combine(_folder.FullName, name);

    private static (int Code, string Output, string Error) Run(params string[] args) => CliHarness.RunIn(Path.GetTempPath(), args);

    private string TrainLinear(string name, string seed = "1")
    {
        var (code, _, error) = Run("objective", "train", "--signal", "reward", "--form", "linear", "--on", "maze/train", "--size", "7",
            "--levels", "6", "--samples", "80", "--train-steps", "150", "--seed", seed, "-o", P(name));
        Assert.True(code == 0, error);
        return P(name);
    }

    [Fact]
    public void Train_show_edit_diff_epic_heatmap_round_trip()
    {
        var card = TrainLinear("lin.json");
        var (showCode, show, _) = Run("objective", "show", card, "--json");
        Assert.Equal(0, showCode);
        var weights = JsonDocument.Parse(show).RootElement.GetProperty("weights");
        // maze/train puts the cheese in the corner: the fit cannot tell at_cheese from at_corner.
        Assert.True(weights.GetProperty("at_cheese").GetDouble() > 2 && weights.GetProperty("at_corner").GetDouble() > 2, show);

        var (editCode, _, editError) = Run("objective", "edit", card, "--zero", "at_corner", "--set", "at_cheese=10", "-o", P("fixed.json"));
        Assert.True(editCode == 0, editError);
        var (_, diff, _) = Run("objective", "diff", card, P("fixed.json"), "--json");
        var fields = JsonDocument.Parse(diff).RootElement.EnumerateArray().Where(d => d.GetProperty("field").GetString() == "weight").Select(d => d.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(["at_cheese", "at_corner"], fields.Order().ToArray());

        var (epicCode, epic, epicError) = Run("objective", "epic", card, card, "--on", "maze/test", "--size", "7", "--levels", "3", "--samples", "50", "--json");
        Assert.True(epicCode == 0, epicError);
        Assert.InRange(JsonDocument.Parse(epic).RootElement.GetProperty("epic").GetDouble(), 0, 1e-6);
        var (_, epic2, _) = Run("objective", "epic", card, P("fixed.json"), "--on", "maze/test", "--size", "7", "--levels", "3", "--samples", "50", "--json");
        Assert.InRange(JsonDocument.Parse(epic2).RootElement.GetProperty("epic").GetDouble(), 0.05, 1);

        var (heatCode, _, heatError) = Run("objective", "heatmap", P("fixed.json"), "--env", "maze/test", "--seed", "3", "--size", "7", "-o", P("h.png"));
        Assert.True(heatCode == 0, heatError);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(P("h.png"))[..4]);
    }

    [Fact]
    public void Show_explains_a_cell_feature_by_feature()
    {
        var card = TrainLinear("lin.json");
        var (code, output, error) = Run("objective", "show", card, "--env", "maze/test", "--size", "7", "--seed", "3", "--cell", "6,6", "--json");
        Assert.True(code == 0, error);
        var contributions = JsonDocument.Parse(output).RootElement.GetProperty("contributions").EnumerateArray().ToArray();
        Assert.Equal(8, contributions.Length);
        var corner = contributions.Single(c => c.GetProperty("feature").GetString() == "at_corner");
        Assert.Equal(1.0, corner.GetProperty("value").GetDouble());
        Assert.Equal(2, Run("objective", "show", card, "--env", "maze/test", "--size", "7", "--cell", "9,9").Code);
    }

    [Fact]
    public void Keys_and_chests_reward_is_a_transition_reward_the_shaped_form_fits()
    {
        var (code, output, error) = Run("objective", "train", "--signal", "reward", "--form", "shaped", "--on", "kc/train", "--levels", "5", "--samples", "100",
            "--train-steps", "500", "--seed", "1", "-o", P("kc.json"), "--json");
        Assert.True(code == 0, error);
        Assert.True(JsonDocument.Parse(output).RootElement.GetProperty("provenance").GetProperty("fit").GetProperty("r2").GetDouble() > 0.95, output);
    }

    [Fact]
    public void Training_is_deterministic_given_the_seed()
    {
        var a = File.ReadAllText(TrainLinear("a.json", "5"));
        var b = File.ReadAllText(TrainLinear("b.json", "5"));
        Assert.Equal(a, b);
    }

    [Fact]
    public void Goal_signal_regresses_a_card_toward_labels()
    {
        var card = TrainLinear("lin.json");
        // Level 0 of maze/test at size 7: label the top-right corner (6,6) as worth nothing.
        var (code, output, error) = Run("objective", "train", "--signal", "goal", "--from", card, "--on", "maze/test", "--size", "7", "--levels", "4", "--samples", "40",
            "--label", "0:6,6=0", "--train-steps", "300", "--lr", "0.1", "-o", P("goal.json"), "--json");
        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal("goal", root.GetProperty("provenance").GetProperty("signal").GetString());
        Assert.Equal(1, root.GetProperty("revision").GetInt32());

        // The labelled corner moved to its label; an unlabelled cell of the same level moved far less.
        var cornerBefore = ValueAt(card, "6,6");
        var cornerAfter = ValueAt(P("goal.json"), "6,6");
        Assert.True(cornerBefore > 2, $"the maze/train card values the corner at {cornerBefore}, so there is something to move");
        Assert.True(Math.Abs(cornerAfter) < 0.5, $"labelled 0, the corner's value went from {cornerBefore} to {cornerAfter}");
        var otherBefore = ValueAt(card, "0,0");
        var otherAfter = ValueAt(P("goal.json"), "0,0");
        Assert.True(Math.Abs(otherAfter - otherBefore) < Math.Abs(cornerAfter - cornerBefore) / 4, $"unlabelled cell 0,0 drifted from {otherBefore} to {otherAfter}, the labelled corner from {cornerBefore} to {cornerAfter}");
    }

    /// <summary>The card's value at a cell of maze/test level 0 (size 7), from <c>objective show --cell --json</c>: bias plus contributions.</summary>
    private static double ValueAt(string card, string cell)
    {
        var (code, output, error) = Run("objective", "show", card, "--env", "maze/test", "--size", "7", "--seed", "0", "--cell", cell, "--json");
        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        return root.GetProperty("card").GetProperty("bias").GetDouble() + root.GetProperty("contributions").EnumerateArray().Sum(c => c.GetProperty("contribution").GetDouble());
    }

    [Fact]
    public void Feature_mismatch_is_one_line_and_exit_code_2()
    {
        var card = TrainLinear("lin.json");
        File.WriteAllText(P("bad.json"), File.ReadAllText(card).Replace("at_corner", "keys_held", StringComparison.Ordinal));
        var (code, _, error) = Run("objective", "heatmap", P("bad.json"), "--env", "maze/test", "--size", "7", "-o", P("x.png"));
        Assert.Equal(2, code);
        Assert.Contains("keys_held", error);
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(File.Exists(P("x.png")));
    }

    [Fact]
    public void NaN_weight_and_truncated_weight_file_are_exit_code_2()
    {
        var card = TrainLinear("lin.json");
        var text = File.ReadAllText(card);
        var start = text.IndexOf("\"at_corner\": ", StringComparison.Ordinal) + "\"at_corner\": ".Length;
        var end = text.IndexOf(',', start);
        File.WriteAllText(P("nan.json"), text[..start] + "\"NaN\"" + text[end..]);
        var (code, _, error) = Run("objective", "show", P("nan.json"));
        Assert.Equal(2, code);
        Assert.Contains("weights.at_corner", error);

        var (trainCode, _, trainError) = Run("objective", "train", "--signal", "reward", "--form", "convex", "--hidden", "4", "--on", "maze/test", "--size", "5",
            "--levels", "2", "--samples", "30", "--train-steps", "5", "-o", P("convex.json"));
        Assert.True(trainCode == 0, trainError);
        var weights = P("convex.safetensors");
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..40]);
        var (loadCode, _, loadError) = Run("objective", "show", P("convex.json"));
        Assert.Equal(2, loadCode);
        Assert.Contains("convex.safetensors", loadError);
        Assert.Single(loadError.Trim().Split('\n'));
    }

    [Fact]
    public void Demos_from_the_optimal_demonstrator_recover_a_cheese_or_corner_reference_with_cosine_at_least_0_95()
    {
        // The cheese (+1, ends the episode) against the corner (+0.3 per arrival): optimal paths reveal the ratio.
        var reference = P("ref.json");
        Telos.Objectives.ObjectiveCardFile.Save(Telos.Objectives.ObjectiveCard.Linear([new("at_cheese", 1.0), new("at_corner", 0.3)]), reference);
        var (code, _, error) = Run("objective", "train", "--signal", "demos", "--demonstrator", "optimal", "--reference", reference,
            "--on", "maze/test", "--size", "7", "--levels", "8", "--gamma", "0.95", "--train-steps", "300", "--lr", "0.1", "--seed", "1", "-o", P("irl.json"));
        Assert.True(code == 0, error);
        var (_, show, _) = Run("objective", "show", P("irl.json"), "--json");
        var weights = JsonDocument.Parse(show).RootElement.GetProperty("weights").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetDouble());
        var dot = weights["at_cheese"] + 0.3 * weights["at_corner"];
        var cosine = dot / Math.Sqrt(weights.Values.Sum(w => w * w) * (1 + 0.3 * 0.3));
        Assert.True(cosine >= 0.95, $"cosine {cosine:F4} < 0.95; {show}");

        Assert.Equal(2, Run("objective", "train", "--signal", "demos", "--demonstrator", "psychic", "--on", "maze/test", "--size", "7", "-o", P("x.json")).Code);
        Assert.False(File.Exists(P("x.json")));
    }

    [Fact]
    public void Unknown_signal_or_form_is_exit_code_2()
    {
        Assert.Equal(2, Run("objective", "train", "--signal", "vibes", "--on", "maze/test", "-o", P("x.json")).Code);
        Assert.Equal(2, Run("objective", "train", "--form", "cubic", "--on", "maze/test", "-o", P("x.json")).Code);
        Assert.False(File.Exists(P("x.json")));
    }

    [Fact]
    public void Demonstrations_run_at_the_learning_rate_the_flag_names()
    {
        // The CLI and the library's IRL pipeline agree at the same step size: --lr is not rescaled on the way.
        var (code, _, error) = Run("objective", "train", "--signal", "demos", "--on", "maze/test", "--size", "5", "--levels", "3", "--demos", "4",
            "--train-steps", "20", "--lr", "0.07", "--seed", "3", "-o", P("irl.json"));
        Assert.True(code == 0, error);
        var cli = Telos.Objectives.ObjectiveCardFile.Load(P("irl.json"));
        var truth = Telos.Learning.Objectives.ObjectiveSources.Load("true", Telos.Environments.MazeFamily.Instance);
        var library = Telos.Learning.Objectives.Demonstrations.FitMaxEntIrl("maze/test", Telos.Environments.DistributionParameters.Of(("size", 5)), 3, truth, 4,
            Telos.Learning.Objectives.Demonstrator.Soft, 0.99, 20, 0.07, 3);
        Assert.Equal(library.Weights.Length, cli.Weights.Length);
        Assert.All(library.Weights.Zip(cli.Weights), w => Assert.Equal(w.First, w.Second, 1e-9));
        var doubled = Telos.Learning.Objectives.Demonstrations.FitMaxEntIrl("maze/test", Telos.Environments.DistributionParameters.Of(("size", 5)), 3, truth, 4,
            Telos.Learning.Objectives.Demonstrator.Soft, 0.99, 20, 0.14, 3);
        Assert.Contains(doubled.Weights.Zip(cli.Weights), w => Math.Abs(w.First - w.Second) > 1e-3);
    }
}
