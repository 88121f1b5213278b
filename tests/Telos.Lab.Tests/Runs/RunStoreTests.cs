using Telos.Lab.Runs;

namespace Telos.Lab.Tests.Runs;

public sealed class RunStoreTests
{
    [Fact]
    public void CreateMakesTheLayoutAndARunningIndexRow()
    {
        using var temp = new TempFolder();
        var store = new RunStore(temp.Combine("runs"));
        using var run = store.Create("demo", "mlp-regression", "seed = 3\n", 3);

        Assert.Matches(@"^demo-\d{8}T\d{6}Z-[0-9a-f]{8}$", run.Id);
        Assert.Equal(Path.Combine(store.Root, run.Id), run.Path);
        Assert.Equal("seed = 3\n", File.ReadAllText(run.ConfigPath));
        Assert.True(Directory.Exists(run.CheckpointsPath));
        Assert.True(Directory.Exists(run.TensorBoardPath));
        Assert.Contains("created run", File.ReadAllText(run.LogPath), StringComparison.Ordinal);

        var row = Assert.Single(store.List());
        Assert.Equal(run.Id, row.Id);
        Assert.Equal(RunStatus.Running, row.Status);
        Assert.Equal("mlp-regression", row.Kind);
        Assert.Equal(3, row.Seed);
        Assert.Equal(Telos.Lab.Configuration.TomlHash.Of("seed = 3\n"), row.ConfigHash);
        Assert.Null(row.EndedUtc);
        Assert.True(row.ProcessAlive);
        // The tests run inside this repository's worktree, so HEAD resolves to a commit.
        Assert.Matches("^([0-9a-f]{40}|unknown)$", row.GitCommit);
        Assert.Empty(temp.TempFiles());
    }

    [Fact]
    public void StatusChangesAreIndexed()
    {
        using var temp = new TempFolder();
        var store = new RunStore(temp.Path);
        using (var a = store.Create("a", "k", "", 1))
        {
            a.MarkCompleted();
        }
        using (var b = store.Create("b", "k", "", 2))
        {
            b.MarkFailed("boom");
        }
        using (var c = store.Create("c", "k", "", 3))
        {
            c.MarkInterrupted("stopped");
            c.MarkRunning();
            c.MarkInterrupted();
        }
        var rows = store.List().ToDictionary(r => r.Name);
        Assert.Equal(RunStatus.Completed, rows["a"].Status);
        Assert.NotNull(rows["a"].EndedUtc);
        Assert.Equal(RunStatus.Failed, rows["b"].Status);
        Assert.Equal("boom", rows["b"].Message);
        Assert.Equal(RunStatus.Interrupted, rows["c"].Status);
        Assert.Null(rows["c"].Message);
        Assert.Equal("interrupted", rows["c"].StatusText);
    }

    [Fact]
    public void FindAcceptsIdShortIdAndUniquePrefixes()
    {
        using var temp = new TempFolder();
        var store = new RunStore(temp.Path);
        using var alpha = store.Create("alpha", "k", "", 1);
        using var beta = store.Create("beta", "k", "", 1);
        Assert.Equal(alpha.Id, store.Find(alpha.Id).Id);
        Assert.Equal(alpha.Id, store.Find(alpha.Record.ShortId).Id);
        Assert.Equal(beta.Id, store.Find("bet").Id);
        Assert.StartsWith("run 'gamma': no such run", Assert.Throws<TelosInputException>(() => store.Find("gamma")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("../escape")]
    [InlineData("-dash")]
    public void BadNamesAreRejectedBeforeAnythingIsWritten(string name)
    {
        using var temp = new TempFolder();
        var root = temp.Combine("runs");
        var store = new RunStore(root);
        var error = Assert.Throws<TelosInputException>(() => store.Create(name, "k", "", 0));
        Assert.StartsWith($"run name '{name}'", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void ListingAMissingStoreIsEmptyAndCreatesNothing()
    {
        using var temp = new TempFolder();
        var root = temp.Combine("nothing-here");
        Assert.Empty(new RunStore(root).List());
        Assert.False(Directory.Exists(root));
    }

    [Fact]
    public void ArtifactsAndReportsAreAtomicAndStayInside()
    {
        using var temp = new TempFolder();
        using var run = new RunStore(temp.Path).Create("r", "k", "", 0);
        run.WriteReport("# hi\n");
        var path = run.WriteArtifact("plots/a.txt", "x");
        run.WriteArtifact("b.bin", new byte[] { 1, 2, 3 });
        Assert.Equal("# hi\n", File.ReadAllText(run.ReportPath));
        Assert.Equal("x", File.ReadAllText(path));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(Path.Combine(run.Path, "b.bin")));
        Assert.Throws<ArgumentException>(() => run.WriteArtifact("../outside.txt", "x"));
        Assert.Throws<ArgumentException>(() => run.WriteArtifact("/tmp/abs.txt", "x"));
        Assert.Empty(temp.TempFiles());
    }
}
