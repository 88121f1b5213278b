using System.Text.Json;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;

namespace Telos.Cli.Tests.Commands;

[Collection("torch")]
public sealed class RunCommandsTests : IDisposable
{
    private const string Tiny = """
        experiment = "mlp-regression"
        seed = 5
        steps = 40
        batch_size = 16
        hidden = [8]
        eval_points = 32
        log_every = 10
        checkpoint_every = 20
        """;

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-cli-tests", Guid.NewGuid().ToString("N"));

    public RunCommandsTests() => Directory.CreateDirectory(_folder);

    private string RunsRoot => Path.Combine(_folder, "runs");

    [Theory]
    [InlineData("experiment = \"mlp-regression\"\nsteps = \n", ":2: syntax error: ")]
    [InlineData("experiment = \"mlp-regression\"\n\nstpes = 10\n", ":3: key 'stpes': unknown key (known here: experiment, seed, steps")]
    [InlineData("experiment = \"mlp-regression\"\nsteps = \"many\"\n", ":2: key 'steps': expected integer in [1, 10000000], got string \"many\"")]
    [InlineData("experiment = \"mlp-regression\"\nbatch_size = 0\n", ":2: key 'batch_size': expected integer in [1, 65536], got 0")]
    public void BadConfigIsOneLineExitTwoAndWritesNothing(string text, string expected)
    {
        var config = Write("bad.toml", text);
        var (code, output, error) = Telos("run", config);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"error: {config}{expected}", line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(RunsRoot), "no run directory or index may be created");
    }

    [Fact]
    public void SetOverridesConfigValuesAndTheRunRecordsThem()
    {
        var config = Write("tiny.toml", Tiny);
        var (code, output, _) = Telos("run", config, "--set", "steps=20", "--set", "checkpoint_every = 10");
        Assert.Equal(0, code);
        Assert.Contains(" completed", output, StringComparison.Ordinal);
        var (_, listJson, _) = Telos("runs", "list", "--json");
        var shortId = Assert.Single(JsonDocument.Parse(listJson).RootElement.EnumerateArray().ToList()).GetProperty("short_id").GetString()!;
        var show = JsonDocument.Parse(Telos("runs", "show", shortId, "--json").Output).RootElement;
        Assert.Equal(20, show.GetProperty("last_metrics").GetProperty("step").GetInt64());
        Assert.Equal([10L, 20], show.GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("step").GetInt64()));
        Assert.Contains("steps = 20", show.GetProperty("config").GetString()!.Split('\n').Select(l => l.Trim()));
    }

    [Theory]
    [InlineData("steps=many", "tiny.toml (command line): key 'steps': expected integer in [1, 10000000], got string \"many\"")]
    [InlineData("model.width=3", "--set model.width: ")]
    [InlineData("stpes=3", "tiny.toml (command line): key 'stpes': unknown key")]
    [InlineData("=3", "--set '=3': expected KEY=VALUE")]
    public void BadSetIsOneLineExitTwoAndWritesNothing(string assignment, string expected)
    {
        var config = Write("tiny.toml", Tiny);
        var (code, output, error) = Telos("run", config, "--set", assignment);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(RunsRoot), "no run directory or index may be created");
    }

    [Fact]
    public void MissingConfigFileIsExitTwo()
    {
        var (code, _, error) = Telos("run", Path.Combine(_folder, "absent.toml"));
        Assert.Equal(2, code);
        Assert.Contains("absent.toml: cannot read config", error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(RunsRoot));
    }

    [Fact]
    public void RunThenListAndShow()
    {
        var config = Write("tiny.toml", Tiny);
        var (code, output, progress) = Telos("run", config, "--seed", "9", "--name", "smoke");
        Assert.Equal(0, code);
        Assert.StartsWith("run smoke-", output, StringComparison.Ordinal);
        Assert.Contains(" completed", output, StringComparison.Ordinal);
        // Not a terminal: plain progress lines on stderr, ending at 100 %.
        Assert.Contains("mlp-regression 40/40 (100%)", progress, StringComparison.Ordinal);

        var (listCode, listJson, _) = Telos("runs", "list", "--json");
        Assert.Equal(0, listCode);
        var row = Assert.Single(JsonDocument.Parse(listJson).RootElement.EnumerateArray().ToList());
        Assert.Equal("completed", row.GetProperty("status").GetString());
        Assert.Equal(9, row.GetProperty("seed").GetInt64());
        Assert.Equal("mlp-regression", row.GetProperty("kind").GetString());
        var shortId = row.GetProperty("short_id").GetString()!;

        var (showCode, showJson, _) = Telos("runs", "show", shortId, "--json");
        Assert.Equal(0, showCode);
        var show = JsonDocument.Parse(showJson).RootElement;
        Assert.Equal(40, show.GetProperty("last_metrics").GetProperty("step").GetInt64());
        Assert.True(show.GetProperty("last_metrics").GetProperty("values").GetProperty("eval_loss").GetDouble() > 0);
        Assert.Equal([20L, 40], show.GetProperty("checkpoints").EnumerateArray().Select(c => c.GetProperty("step").GetInt64()));
        Assert.Contains("seed = 9", show.GetProperty("config").GetString()!.Split('\n').Select(l => l.Trim()));

        var (tableCode, table, _) = Telos("runs", "show", shortId);
        Assert.Equal(0, tableCode);
        Assert.Contains("completed", table, StringComparison.Ordinal);
        Assert.Contains("config.toml", table, StringComparison.Ordinal);

        var (_, resumeOutput, resumeError) = Telos("resume", shortId);
        Assert.Equal("", resumeOutput);
        Assert.EndsWith("is completed; nothing to resume", resumeError.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public void QuietSilencesProgress()
    {
        var config = Write("tiny.toml", Tiny);
        var (code, output, error) = Telos("run", config, "--quiet", "--json");
        Assert.Equal(0, code);
        Assert.Equal("", error);
        var result = JsonDocument.Parse(output).RootElement;
        Assert.Equal("completed", result.GetProperty("status").GetString());
        Assert.Equal(0, result.GetProperty("exit_code").GetInt32());
    }

    [Fact]
    public void ResumeWithEveryCheckpointTruncatedIsOneLineExitTwoAndChangesNothing()
    {
        var runner = new ExperimentRunner(new RunStore(RunsRoot), ExperimentCatalog.Discover());
        using var cancel = new CancellationTokenSource();
        var interrupted = runner.Start(runner.Prepare(ConfigFile.Parse(Tiny, "tiny.toml"), "tiny"), new StopAt(30, cancel), cancel.Token);
        Assert.Equal(RunStatus.Interrupted, interrupted.Record.Status);
        var checkpoints = RunFiles.Checkpoints(interrupted.Record.Directory);
        var originals = checkpoints.Select(c => File.ReadAllBytes(c.TensorPath)).ToList();
        foreach (var (checkpoint, bytes) in checkpoints.Zip(originals))
        {
            File.WriteAllBytes(checkpoint.TensorPath, bytes[..(bytes.Length - 7)]);
        }
        var newest = checkpoints[^1];
        var before = Snapshot(interrupted.Record.Directory);

        var (code, output, error) = Telos("resume", interrupted.Record.ShortId);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(
            $"error: run '{interrupted.Record.Id}': no intact checkpoint to resume from ({checkpoints.Count} damaged; newest: {newest.TensorPath}: truncated or corrupt checkpoint: {originals[^1].Length - 7} bytes, sidecar says {originals[^1].Length})",
            line);
        Assert.Equal(before, Snapshot(interrupted.Record.Directory));
        Assert.Equal(RunStatus.Interrupted, new RunStore(RunsRoot).Find(interrupted.Record.Id).Status);

        // With the oldest checkpoint repaired, resume passes over the damaged newer ones and completes.
        File.WriteAllBytes(checkpoints[0].TensorPath, originals[0]);
        var (resumeCode, resumeOutput, _) = Telos("resume", interrupted.Record.ShortId);
        Assert.Equal(0, resumeCode);
        Assert.Contains(" completed", resumeOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownRunIsExitTwo()
    {
        var (code, _, error) = Telos("runs", "show", "nope");
        Assert.Equal(2, code);
        Assert.StartsWith("error: run 'nope': no such run", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ExperimentsListsTheShippedKind()
    {
        var (code, output, _) = Telos("experiments", "--json");
        Assert.Equal(0, code);
        Assert.Contains(JsonDocument.Parse(output).RootElement.EnumerateArray(), e => e.GetProperty("kind").GetString() == "mlp-regression");
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private (int Code, string Output, string Error) Telos(params string[] args) => CliHarness.RunIn(RunsRoot, args);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static Dictionary<string, string> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

    private sealed class StopAt(long step, CancellationTokenSource cancel) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
            if (value.Done >= step)
            {
                cancel.Cancel();
            }
        }
    }
}

[CollectionDefinition("torch", DisableParallelization = true)]
public sealed class TorchCollection
{
}
