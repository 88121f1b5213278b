using System.Reflection;

namespace Telos.Lab.Runs;

/// <summary>Finds the commit a run starts from by reading <c>.git</c> directly (no git process needed).</summary>
public static class GitCommit
{
    /// <summary>
    /// The 40-hex HEAD commit of the repository containing <paramref name="startDirectory"/> (walking up),
    /// following worktree <c>gitdir:</c> files, symbolic refs and <c>packed-refs</c>; "unknown" when none is found.
    /// </summary>
    public static string Find(string startDirectory)
    {
        try
        {
            for (var dir = new DirectoryInfo(Path.GetFullPath(startDirectory)); dir is not null; dir = dir.Parent)
            {
                var dotGit = Path.Combine(dir.FullName, ".git");
                if (Directory.Exists(dotGit))
                {
                    return Resolve(dotGit) ?? "unknown";
                }
                if (File.Exists(dotGit))
                {
                    var line = File.ReadAllText(dotGit).Trim();
                    if (line.StartsWith("gitdir:", StringComparison.Ordinal))
                    {
                        var gitDir = line["gitdir:".Length..].Trim();
                        return Resolve(Path.GetFullPath(Path.Combine(dir.FullName, gitDir))) ?? "unknown";
                    }
                    return "unknown";
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return "unknown";
    }

    /// <summary>
    /// The commit these binaries were built from (the SDK's SourceLink writes it into the informational
    /// version as <c>version+sha</c>), or "unknown". Differs from <see cref="Find"/> when a run uses a
    /// copied or stale build: the checkout says what the tree holds, this says what code ran. Neither
    /// records uncommitted changes.
    /// </summary>
    public static string OfBuild()
    {
        var version = typeof(GitCommit).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var plus = version?.IndexOf('+', StringComparison.Ordinal) ?? -1;
        return plus >= 0 && IsHash(version![(plus + 1)..]) ? version[(plus + 1)..] : "unknown";
    }

    private static string? Resolve(string gitDir)
    {
        var headPath = Path.Combine(gitDir, "HEAD");
        if (!File.Exists(headPath))
        {
            return null;
        }
        var head = File.ReadAllText(headPath).Trim();
        if (!head.StartsWith("ref:", StringComparison.Ordinal))
        {
            return IsHash(head) ? head : null;
        }
        var reference = head["ref:".Length..].Trim();
        // Linked worktrees keep HEAD locally but branch refs in the common directory.
        var commonDir = gitDir;
        var commonFile = Path.Combine(gitDir, "commondir");
        if (File.Exists(commonFile))
        {
            commonDir = Path.GetFullPath(Path.Combine(gitDir, File.ReadAllText(commonFile).Trim()));
        }
        foreach (var dir in new[] { gitDir, commonDir })
        {
            var refPath = Path.Combine(dir, reference);
            if (File.Exists(refPath))
            {
                var hash = File.ReadAllText(refPath).Trim();
                return IsHash(hash) ? hash : null;
            }
        }
        var packed = Path.Combine(commonDir, "packed-refs");
        if (File.Exists(packed))
        {
            foreach (var line in File.ReadLines(packed))
            {
                var parts = line.Split(' ', 2);
                if (parts.Length == 2 && parts[1].Trim() == reference && IsHash(parts[0]))
                {
                    return parts[0];
                }
            }
        }
        return null;
    }

    private static bool IsHash(string text) => text.Length is 40 or 64 && text.All(Uri.IsHexDigit);
}
