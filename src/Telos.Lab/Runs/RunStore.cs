using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Telos.IO;

namespace Telos.Lab.Runs;

/// <summary>
/// The runs folder: one directory per run (<c>&lt;name&gt;-&lt;yyyyMMddTHHmmssZ&gt;-&lt;short id&gt;/</c>) and the
/// SQLite index <c>runs.db</c> (WAL) of all of them.
/// </summary>
public sealed partial class RunStore
{
    private readonly RunIndex _index;
    private bool _created;

    /// <param name="root">The runs folder; created on the first <see cref="Create"/>. Reading a missing folder lists no runs.</param>
    public RunStore(string root)
    {
        Root = System.IO.Path.GetFullPath(root);
        _index = new RunIndex(System.IO.Path.Combine(Root, "runs.db"));
    }

    public string Root { get; }

    /// <summary>
    /// The copy of <c>config.toml</c> as the run started, next to it in the run directory: when the config
    /// no longer matches the indexed hash, resume names the keys that differ from this copy.
    /// </summary>
    public const string OriginalConfigFile = "config.original.toml";

    /// <summary>Path of the SQLite index.</summary>
    public string IndexPath => _index.DatabasePath;

    /// <summary>Checks a run name: 1–64 of letters, digits, '.', '_' and '-', starting with a letter or digit.</summary>
    /// <exception cref="TelosInputException">The name is not usable as a directory name prefix.</exception>
    public static void ValidateName(string name)
    {
        if (!NamePattern().IsMatch(name))
        {
            throw new TelosInputException($"run name '{name}': use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    /// <summary>
    /// Creates the run directory (<c>config.toml</c> and its copy <see cref="OriginalConfigFile"/>, <c>log.txt</c>, empty <c>checkpoints/</c> and <c>tb/</c>)
    /// and then its index row with status running. Validate the config before calling this: nothing here
    /// is rolled back except a directory whose index row could not be written.
    /// </summary>
    /// <param name="name">Run name (see <see cref="ValidateName"/>).</param>
    /// <param name="kind">Experiment kind.</param>
    /// <param name="resolvedConfigToml">The resolved config, written as <c>config.toml</c>; its hash is the run's config hash.</param>
    /// <param name="seed">The root seed.</param>
    public RunDirectory Create(string name, string kind, string resolvedConfigToml, long seed)
    {
        ValidateName(name);
        EnsureIndex();
        var started = DateTimeOffset.UtcNow;
        string shortId, id, dir;
        do
        {
            shortId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
            id = $"{name}-{started.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture)}-{shortId}";
            dir = System.IO.Path.Combine(Root, id);
        }
        while (Directory.Exists(dir) || _index.FindByPrefix(Root, shortId).Any(r => r.ShortId == shortId));

        Directory.CreateDirectory(dir);
        var record = new RunRecord(
            id, shortId, name, kind, RunStatus.Running, Configuration.TomlHash.Of(resolvedConfigToml), seed,
            SourceCommit(), started, null, dir, Environment.ProcessId, null);
        try
        {
            Directory.CreateDirectory(System.IO.Path.Combine(dir, "checkpoints"));
            Directory.CreateDirectory(System.IO.Path.Combine(dir, "tb"));
            AtomicFile.WriteAllText(System.IO.Path.Combine(dir, "config.toml"), resolvedConfigToml);
            AtomicFile.WriteAllText(System.IO.Path.Combine(dir, OriginalConfigFile), resolvedConfigToml);
            _index.Insert(record, id);
        }
        catch
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
            throw;
        }
        var run = new RunDirectory(record, _index);
        run.Log($"created run {id} kind={kind} seed={seed} config_hash={record.ConfigHash} git={record.GitCommit} build={GitCommit.OfBuild()}");
        return run;
    }

    /// <summary>All runs, oldest first.</summary>
    public IReadOnlyList<RunRecord> List() => File.Exists(IndexPath) ? _index.All(Root) : [];

    /// <summary>The run whose id or short id starts with <paramref name="idOrPrefix"/>.</summary>
    /// <exception cref="TelosInputException">No run, or more than one, matches.</exception>
    public RunRecord Find(string idOrPrefix)
    {
        if (string.IsNullOrWhiteSpace(idOrPrefix))
        {
            throw new TelosInputException("run id: empty");
        }
        var matches = File.Exists(IndexPath) ? _index.FindByPrefix(Root, idOrPrefix) : [];
        var exact = matches.Where(m => m.Id == idOrPrefix || m.ShortId == idOrPrefix).ToList();
        if (exact.Count == 1)
        {
            return exact[0];
        }
        return matches.Count switch
        {
            0 => throw new TelosInputException($"run '{idOrPrefix}': no such run in {Root}"),
            1 => matches[0],
            _ => throw new TelosInputException($"run '{idOrPrefix}': ambiguous, matches {string.Join(", ", matches.Take(5).Select(m => m.Id))}"),
        };
    }

    /// <summary>Opens a run for writing (resume, reports). The directory must still exist.</summary>
    /// <exception cref="TelosInputException">No unique match, or its directory is gone.</exception>
    public RunDirectory Open(string idOrPrefix)
    {
        var record = Find(idOrPrefix);
        if (!Directory.Exists(record.Directory))
        {
            throw new TelosInputException($"run '{record.Id}': directory {record.Directory} is missing");
        }
        return new RunDirectory(record, _index);
    }

    // The working directory's repository first (a checkout running its own build), then the one the binaries live in.
    private static string SourceCommit()
    {
        var commit = GitCommit.Find(Directory.GetCurrentDirectory());
        return commit != "unknown" ? commit : GitCommit.Find(AppContext.BaseDirectory);
    }

    private void EnsureIndex()
    {
        if (_created)
        {
            return;
        }
        Directory.CreateDirectory(Root);
        _index.EnsureCreated();
        _created = true;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NamePattern();
}
