using Telos.Lab.Runs;

namespace Telos.Lab.Tests.Runs;

public sealed class GitCommitTests
{
    private const string A = "1111111111111111111111111111111111111111";
    private const string B = "2222222222222222222222222222222222222222";

    [Fact]
    public void TheBuildCommitIsTheCheckoutThatBuiltTheseTests()
    {
        // The tests are built from this checkout, so the commit baked into Telos.Lab.dll is its HEAD.
        var checkout = GitCommit.Find(AppContext.BaseDirectory);
        Assert.Matches("^[0-9a-f]{40}$", checkout);
        Assert.Equal(checkout, GitCommit.OfBuild());
    }

    [Fact]
    public void ReadsABranchRefFromASubdirectory()
    {
        using var temp = new TempFolder();
        Write(temp.Combine(".git", "HEAD"), "ref: refs/heads/main\n");
        Write(temp.Combine(".git", "refs", "heads", "main"), A + "\n");
        Directory.CreateDirectory(temp.Combine("src", "deep"));
        Assert.Equal(A, GitCommit.Find(temp.Combine("src", "deep")));
    }

    [Fact]
    public void ReadsADetachedHeadAndPackedRefs()
    {
        using var detached = new TempFolder();
        Write(detached.Combine(".git", "HEAD"), B + "\n");
        Assert.Equal(B, GitCommit.Find(detached.Path));

        using var packed = new TempFolder();
        Write(packed.Combine(".git", "HEAD"), "ref: refs/heads/dev\n");
        Write(packed.Combine(".git", "packed-refs"), $"# pack-refs with: peeled\n{A} refs/heads/main\n{B} refs/heads/dev\n");
        Assert.Equal(B, GitCommit.Find(packed.Path));
    }

    [Fact]
    public void FollowsALinkedWorktreeToTheCommonRefs()
    {
        using var temp = new TempFolder();
        Write(temp.Combine("repo", ".git", "refs", "heads", "feature"), A);
        Write(temp.Combine("repo", ".git", "worktrees", "wt", "HEAD"), "ref: refs/heads/feature\n");
        Write(temp.Combine("repo", ".git", "worktrees", "wt", "commondir"), "../..\n");
        Write(temp.Combine("wt", ".git"), $"gitdir: {temp.Combine("repo", ".git", "worktrees", "wt")}\n");
        Assert.Equal(A, GitCommit.Find(temp.Combine("wt")));
    }

    [Fact]
    public void NoRepositoryIsUnknown()
    {
        using var temp = new TempFolder();
        Write(temp.Combine(".git", "HEAD"), "ref: refs/heads/missing\n");
        Assert.Equal("unknown", GitCommit.Find(temp.Path));
    }

    private static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
    }
}
