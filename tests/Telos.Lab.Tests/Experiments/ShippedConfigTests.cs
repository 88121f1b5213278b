using Telos.Lab.Experiments;
using Telos.Lab.Runs;

namespace Telos.Lab.Tests.Experiments;

/// <summary>Every config shipped in <c>experiments/</c> validates as its experiment reads it (sweeps: every cell), so a documented command never fails on its own config.</summary>
public sealed class ShippedConfigTests
{
    /// <summary>Configs that read an earlier run's output, with the error they give before it exists.</summary>
    private static readonly Dictionary<string, string> NeedsAnEarlierRun = new(StringComparer.Ordinal)
    {
        ["l2l-quadratic-eval1000.toml"] = "key 'trained_optimizer': no such file: runs/l2l-quadratic.l2l",
    };

    public static TheoryData<string> Configs()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(ExperimentRunnerTests.RepoRoot(), "experiments"), "*.toml").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Configs))]
    public void TheShippedConfigValidates(string name)
    {
        using var temp = new TempFolder();
        var runner = new ExperimentRunner(new RunStore(temp.Combine("runs")), ExperimentCatalog.Discover());
        var path = Path.Combine(ExperimentRunnerTests.RepoRoot(), "experiments", name);
        if (NeedsAnEarlierRun.TryGetValue(name, out var missing))
        {
            // Its header says to copy an earlier run's output first; without it, the one-line error names the key.
            var error = Assert.Throws<TelosInputException>(() => runner.Prepare(path));
            Assert.EndsWith(missing, error.Message, StringComparison.Ordinal);
            return;
        }
        var prepared = runner.Prepare(path);
        Assert.NotNull(prepared.Experiment);
        Assert.False(Directory.Exists(temp.Combine("runs")) && Directory.EnumerateFiles(temp.Combine("runs"), "*", SearchOption.AllDirectories).Any(f => !f.EndsWith("runs.db", StringComparison.Ordinal)),
            "preparing wrote run files");
    }
}
