using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CsCheck;
using Telos.Environments;
using Telos.Lab.Configuration;
using Telos.Lab.Experiments;
using Telos.Lab.Runs;
using Telos.Objectives;

namespace Telos.Cli.Tests.Inputs;

/// <summary>
/// Damaged and type-wrong input files, generated: every one makes <c>telos</c> exit 2 with exactly one
/// <c>error: ...</c> line on stderr and write nothing.
/// </summary>
[Collection("torch")]
public sealed class DamagedInputTests : IDisposable
{
    // One thread: every sample rewrites the same file.
    private const int Iterations = 150;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "telos-damaged-inputs", Guid.NewGuid().ToString("N"));

    public DamagedInputTests() => Directory.CreateDirectory(_folder);

    [Fact]
    public void DamagedCardsAreOneLineInputErrorsAndWriteNothing()
    {
        var features = Maze.FeatureNames.Names;
        var shaped = ObjectiveCard.Linear(features.Select((f, i) => KeyValuePair.Create(f, 0.5 * i))) with
        {
            Form = ObjectiveForm.Shaped,
            Revision = 3,
            Potential = [.. features.Select(_ => 0.25)],
            Gamma = 0.9,
            Penalties = [new PenaltyTerm(features[0], 2.0, 1.0)],
            Frozen = false,
            FrozenFeatures = [features[1]],
            History = ["r1: manual", "r2: set"],
        };
        var good = ObjectiveCardFile.ToJson(shaped);
        var path = Path.Combine(_folder, "card.json");
        var output = Path.Combine(_folder, "out.json");
        var tree = Path.Combine(_folder, "tree.json");
        // The undamaged card works, so every failure below is the damage's doing.
        File.WriteAllText(path, good);
        Assert.Equal(0, CliHarness.RunIn(_folder, "objective", "show", path).ExitCode);
        Assert.Equal(0, CliHarness.RunIn(_folder, "objective", "edit", path, "--zero", features[0], "-o", output).ExitCode);
        Assert.Equal(0, CliHarness.RunIn(_folder, "plan", "--objective", path, "--tree", tree).ExitCode);
        Assert.True(File.Exists(output) && File.Exists(tree));
        File.Delete(output);
        File.Delete(tree);

        Damage(good, CardRequired).Sample(text =>
        {
            File.WriteAllText(path, text);
            AssertInputError(_folder, text, "objective", "show", path);
            AssertInputError(_folder, text, "objective", "edit", path, "--zero", features[0], "-o", output);
            AssertInputError(_folder, text, "plan", "--objective", path, "--tree", tree);
            Assert.False(File.Exists(output), $"objective edit wrote {output} from\n{text}");
            Assert.False(File.Exists(tree), $"plan wrote {tree} from\n{text}");
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void DamagedCheckpointSidecarsAreOneLineInputErrorsAndWriteNothing()
    {
        var runs = Path.Combine(_folder, "runs");
        var runner = new ExperimentRunner(new RunStore(runs), ExperimentCatalog.Discover());
        using var cancel = new CancellationTokenSource();
        var config = "experiment = \"mlp-regression\"\nseed = 1\nsteps = 6\nbatch_size = 4\nhidden = [4]\neval_points = 8\nlog_every = 1\ncheckpoint_every = 2\n";
        var record = runner.Start(runner.Prepare(ConfigFile.Parse(config, "c.toml"), "c"), new CancelAt(2, cancel), cancel.Token).Record;
        var checkpoint = Assert.Single(RunFiles.Checkpoints(record.Directory));
        var good = File.ReadAllText(checkpoint.SidecarPath);
        Assert.Equal(RunStatus.Interrupted, record.Status);

        Damage(good, SidecarRequired).Sample(text =>
        {
            File.WriteAllText(checkpoint.SidecarPath, text);
            var before = Snapshot(record.Directory);
            AssertInputError(runs, text, "resume", record.ShortId);
            var after = Snapshot(record.Directory);
            Assert.True(before.Count == after.Count && before.All(kv => after.GetValueOrDefault(kv.Key) == kv.Value),
                $"resume changed {string.Join(", ", after.Where(kv => before.GetValueOrDefault(kv.Key) != kv.Value).Select(kv => kv.Key))} with sidecar\n{text}");
            Assert.Equal(RunStatus.Interrupted, new RunStore(runs).Find(record.Id).Status);
        }, iter: Iterations, threads: 1);
    }

    [Fact]
    public void DamagedConfigsAreOneLineInputErrorsAndCreateNoRun()
    {
        var good = "experiment = \"mlp-regression\"\nseed = 1\nsteps = 20\nbatch_size = 4\nhidden = [4, 4]\nlearning_rate = 0.01\neval_points = 8\nlog_every = 1\ncheckpoint_every = 5\n";
        var path = Path.Combine(_folder, "config.toml");
        var runs = Path.Combine(_folder, "config-runs");
        var lines = good.TrimEnd('\n').Split('\n');
        var wrong = new Dictionary<string, string[]>
        {
            ["experiment"] = ["1", "true", "\"nope\"", "[\"mlp-regression\"]", "{ kind = \"mlp-regression\" }"],
            ["seed"] = ["\"1\"", "-1", "1.5", "true", "[1]", "nan"],
            ["steps"] = ["\"20\"", "0", "-3", "20.0", "100000000000", "{ a = 1 }", "inf"],
            ["batch_size"] = ["\"NaN\"", "0", "false", "[4]", "1e3"],
            ["hidden"] = ["4", "\"4\"", "[\"4\"]", "[0]", "[1.5]", "[]", "[[4]]", "[1, 2, 3, 4, 5, 6, 7, 8, 9]"],
            ["learning_rate"] = ["\"0.01\"", "nan", "inf", "-0.01", "0", "2", "true", "[0.01]"],
            ["eval_points"] = ["\"8\"", "0", "8.5"],
            ["log_every"] = ["\"1\"", "0", "{}"],
            ["checkpoint_every"] = ["\"5\"", "-5", "5.5"],
        };
        var replace = Gen.Int[0, lines.Length - 1].SelectMany(line =>
        {
            var key = lines[line].Split(" = ")[0];
            return Gen.OneOfConst(wrong[key]).Select(value => string.Join('\n', lines.Select((l, i) => i == line ? $"{key} = {value}" : l)) + "\n");
        });
        var unknownKey = Gen.String[Gen.Char['a', 'z'], 1, 12].Where(k => !wrong.ContainsKey(k)).Select(k => good + $"{k} = 1\n");
        var syntax = Gen.Int[0, lines.Length - 1].SelectMany(line => Gen.OneOfConst("= = =", "[unclosed", "key = \"open", "a.b = 1\na = 2", "seed = 1", "[[tables]]\nx = 1").Select(junk =>
            string.Join('\n', lines.Take(line).Append(junk).Concat(lines.Skip(line))) + "\n"));
        var bytes = Gen.Byte.Array[1, 64].Select(b => Convert.ToBase64String(b) + "\u0000\n");
        Gen.Frequency((4, replace), (1, unknownKey), (2, syntax), (1, bytes)).Sample(text =>
        {
            File.WriteAllText(path, text);
            AssertInputError(runs, text, "run", path);
            Assert.False(Directory.Exists(runs), $"telos run created {runs} from\n{text}");
        }, iter: Iterations, threads: 1);

        File.WriteAllText(path, good.Replace("steps = 20", "steps = 1", StringComparison.Ordinal));
        Assert.Equal(0, CliHarness.RunIn(runs, "--quiet", "run", path).ExitCode);
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

    /// <summary>Card fields that must be present (the rest have defaults).</summary>
    private static readonly ImmutableHashSet<string> CardRequired = ["telos_objective_card", "form", "revision", "features", "weights", "potential", "provenance", "signal", "on", "data_hash", "training_steps", "seed", "fit", "feature", "weight", "above"];

    /// <summary>Sidecar fields whose absence the reader must notice (created_utc and tensors are informational).</summary>
    private static readonly ImmutableHashSet<string> SidecarRequired = ["format", "step", "file", "bytes", "sha256", "metadata"];

    /// <summary>
    /// Damage that can never leave a valid file: a value replaced by one of another JSON kind (a number
    /// written as a string, an object where a list belongs, ...) or by an out-of-range number, a required
    /// field removed, the text cut before its closing brace, or bytes that are not JSON.
    /// </summary>
    private static Gen<string> Damage(string json, ImmutableHashSet<string> required)
    {
        var root = JsonNode.Parse(json)!;
        var slots = Slots(root).ToList();
        var typed = slots.Where(s => !(s.Path.Count == 1 && s.Path[0] is "metadata" or "tensors")).ToList();
        var retype = Gen.Int[0, typed.Count - 1].SelectMany(i => Gen.OneOfConst(OtherKinds(typed[i].Node)).Select(value => Edit(root, typed[i].Path, JsonNode.Parse(value))));
        var numbers = slots.Where(s => s.Node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number).ToList();
        var range = Gen.Int[0, numbers.Count - 1].SelectMany(i => Gen.OneOfConst("1e400", "-1e400").Select(value => Edit(root, numbers[i].Path, JsonNode.Parse(value))));
        var removable = slots.Where(s => s.Path.Count > 0 && required.Contains(s.Path[^1])).ToList();
        var remove = Gen.Int[0, removable.Count - 1].Select(i => Edit(root, removable[i].Path, null, remove: true));
        var cut = Gen.Int[0, json.LastIndexOf('}') - 1].Select(n => json[..n]);
        var garbage = Gen.Byte.Array[0, 40].Select(b => "\u0001" + Convert.ToHexString(b));
        return Gen.Frequency((6, retype), (1, range), (2, remove), (2, cut), (1, garbage));
    }

    private static string[] OtherKinds(JsonNode? node)
    {
        var kind = node?.GetValueKind() ?? System.Text.Json.JsonValueKind.Null;
        var all = new (System.Text.Json.JsonValueKind Kind, string Text)[]
        {
            (System.Text.Json.JsonValueKind.String, "\"NaN\""),
            (System.Text.Json.JsonValueKind.String, "\"1\""),
            (System.Text.Json.JsonValueKind.String, "\"\""),
            (System.Text.Json.JsonValueKind.Number, "1"),
            (System.Text.Json.JsonValueKind.Number, "-0.5"),
            (System.Text.Json.JsonValueKind.True, "true"),
            (System.Text.Json.JsonValueKind.False, "false"),
            (System.Text.Json.JsonValueKind.Null, "null"),
            (System.Text.Json.JsonValueKind.Array, "[]"),
            (System.Text.Json.JsonValueKind.Array, "[1, \"a\"]"),
            (System.Text.Json.JsonValueKind.Object, "{}"),
            (System.Text.Json.JsonValueKind.Object, "{\"a\": 1}"),
        };
        static bool Same(System.Text.Json.JsonValueKind a, System.Text.Json.JsonValueKind b) =>
            a == b || (a is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False && b is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False);
        return [.. all.Where(a => !Same(a.Kind, kind)).Select(a => a.Text)];
    }

    /// <summary>Every value below the root (object members and array items), with its path of member names and indices; free-form sidecar members are not entered.</summary>
    private static IEnumerable<(IReadOnlyList<string> Path, JsonNode? Node)> Slots(JsonNode node, ImmutableList<string>? path = null)
    {
        path ??= [];
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, child) in o)
                {
                    yield return (path.Add(key), child);
                    if (child is not null && !(path.IsEmpty && key is "metadata" or "tensors"))
                    {
                        foreach (var inner in Slots(child, path.Add(key)))
                        {
                            yield return inner;
                        }
                    }
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    yield return (path.Add($"[{i}]"), a[i]);
                    if (a[i] is { } child)
                    {
                        foreach (var inner in Slots(child, path.Add($"[{i}]")))
                        {
                            yield return inner;
                        }
                    }
                }
                break;
        }
    }

    /// <summary>A copy of <paramref name="root"/> with the value at <paramref name="path"/> replaced by <paramref name="value"/> (null is JSON null), or the object member removed.</summary>
    private static string Edit(JsonNode root, IReadOnlyList<string> path, JsonNode? value, bool remove = false)
    {
        var copy = root.DeepClone();
        var parent = copy;
        foreach (var step in path.Take(path.Count - 1))
        {
            parent = step.StartsWith('[') ? parent![int.Parse(step[1..^1], System.Globalization.CultureInfo.InvariantCulture)] : parent![step];
        }
        var last = path[^1];
        if (last.StartsWith('['))
        {
            parent!.AsArray()[int.Parse(last[1..^1], System.Globalization.CultureInfo.InvariantCulture)] = value;
        }
        else if (remove)
        {
            parent!.AsObject().Remove(last);
        }
        else
        {
            parent!.AsObject()[last] = value;
        }
        return copy.ToJsonString();
    }

    private static void AssertInputError(string runsRoot, string input, params string[] args)
    {
        var (code, _, error) = CliHarness.RunIn(runsRoot, args);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(code == 2 && lines.Length == 1 && lines[0].StartsWith("error: ", StringComparison.Ordinal),
            $"telos {string.Join(' ', args)} exited {code} with stderr:\n{error}\ninput:\n{input}");
    }

    private static Dictionary<string, string> Snapshot(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    private sealed class CancelAt(long stopAt, CancellationTokenSource cancel) : IProgress<ProgressUpdate>
    {
        public void Report(ProgressUpdate value)
        {
            if (value.Done >= stopAt)
            {
                cancel.Cancel();
            }
        }
    }
}
