using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Reinforcement;
using Telos.Lab.Runs;
using Telos.Lab.Tests.Experiments;
using Telos.Learning.Reinforcement.Policies;

namespace Telos.Lab.Tests.Reinforcement;

public sealed class PpoDrcConfigTests
{
    private const string Tiny = """
        experiment = "ppo"
        seed = 3
        eval_episodes = 8
        policy = "drc"
        conv_channels = 2
        features = 8
        drc_layers = 2
        drc_ticks = 2
        drc_channels = 2
        num_envs = 2
        num_steps = 4
        total_timesteps = 16
        num_minibatches = 1
        update_epochs = 1

        [params]
        size = 5
        step_limit = 6
        """;

    private static ExperimentRunner Runner(TempFolder temp) => new(new RunStore(temp.Combine("runs")), ExperimentCatalog.Discover());

    [Fact]
    public void TheShippedDrcConfigValidates()
    {
        using var temp = new TempFolder();
        var prepared = Runner(temp).Prepare(Path.Combine(ExperimentRunnerTests.RepoRoot(), "experiments", "ppo-maze-drc.toml"));
        var settings = Assert.IsType<PpoExperimentSettings>(prepared.Settings);
        Assert.Equal(new PolicyOptions(PolicyKind.Drc, 8, 64, 128, DrcLayers: 2, DrcTicks: 2, DrcChannels: 16), settings.Policy);
        Assert.Equal(5, settings.Parameters["size"]);
    }

    /// <summary>The 7×7 config: DRC(2, 2) with 8 channels on the lab's maze size and step limit.</summary>
    [Fact]
    public void TheShippedSevenBySevenDrcConfigValidates()
    {
        using var temp = new TempFolder();
        var prepared = Runner(temp).Prepare(Path.Combine(ExperimentRunnerTests.RepoRoot(), "experiments", "ppo-maze-drc-7.toml"));
        var settings = Assert.IsType<PpoExperimentSettings>(prepared.Settings);
        Assert.Equal(new PolicyOptions(PolicyKind.Drc, 8, 64, 128, DrcLayers: 2, DrcTicks: 2, DrcChannels: 8), settings.Policy);
        Assert.Equal(7, settings.Parameters["size"]);
        Assert.Equal(60, settings.Parameters["step_limit"]);
    }

    /// <summary>A DRC policy trains, checkpoints and is evaluated through the experiment like the others.</summary>
    [Fact]
    public void ATinyDrcRunReports()
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var outcome = runner.Start(runner.Prepare(ConfigFile.Parse(Tiny, "tiny.toml"), "tiny"), new Progress<ProgressUpdate>());
        Assert.Equal(0, outcome.ExitCode);
        var report = File.ReadAllLines(Path.Combine(outcome.Record.Directory, "report.md"));
        Assert.Single(report, line => line.StartsWith("Drc policy trained by PPO", StringComparison.Ordinal));
        Assert.Single(report, line => line.StartsWith("| maze/test | ", StringComparison.Ordinal) && line.Contains("/8 (", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("drc_ticks = 0", "tiny.toml:8: key 'drc_ticks': expected")]
    [InlineData("drc_layers = 17", "tiny.toml:7: key 'drc_layers': expected")]
    public void BadDrcSizesFailBeforeAnythingIsWritten(string replacement, string expectedPrefix)
    {
        using var temp = new TempFolder();
        var runner = Runner(temp);
        var key = replacement[..replacement.IndexOf(' ', StringComparison.Ordinal)];
        var text = string.Join('\n', Tiny.Split('\n').Select(l => l.StartsWith(key + " ", StringComparison.Ordinal) ? replacement : l));
        var error = Assert.Throws<TelosInputException>(() => runner.Prepare(ConfigFile.Parse(text, "tiny.toml"), "tiny"));
        Assert.StartsWith(expectedPrefix, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(runner.Store.Root));
    }
}
