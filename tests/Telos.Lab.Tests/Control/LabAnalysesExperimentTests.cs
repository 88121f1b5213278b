using Telos.Lab.Control;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Lab.Tests.Experiments;

namespace Telos.Lab.Tests.Control;

public sealed class LabAnalysesExperimentTests
{
    [Fact]
    public void TheShippedConfigValidates()
    {
        using var temp = new TempFolder();
        var runner = new ExperimentRunner(new RunStore(temp.Combine("runs")), ExperimentCatalog.Discover());
        var prepared = runner.Prepare(Path.Combine(ExperimentRunnerTests.RepoRoot(), "experiments", "lab-analyses-7.toml"));
        Assert.IsType<LabAnalysesExperiment>(prepared.Experiment);
        var settings = Assert.IsType<LabAnalysesSettings>(prepared.Settings);
        Assert.Equal(1, settings.StepsPerLabel);
        Assert.Equal(60, settings.StepLimit);
    }
}
