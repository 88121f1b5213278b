using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Telos.IO;

namespace Telos.Lab.Runs;

/// <summary>Where a run's status changes go: the SQLite index for runs of a store, <c>run.json</c> for a standalone run.</summary>
internal interface IRunStatusStore
{
    void SetStatus(string id, RunStatus status, DateTimeOffset? ended, string? message, int pid);
}

/// <summary>
/// The record of a standalone run (a sweep cell): the fields of an index row, kept in the run's own
/// <c>run.json</c> and rewritten atomically on every status change, so that the run writes nothing
/// outside its directory.
/// </summary>
public static class RunRecordFile
{
    /// <summary>The file name inside the run directory.</summary>
    public const string FileName = "run.json";

    private const string Format = "telos-run/1";

    /// <summary>
    /// Makes <paramref name="directory"/> a run: writes <c>config.toml</c> (unless it already holds exactly
    /// <paramref name="resolvedConfigToml"/>), creates <c>checkpoints/</c> and <c>tb/</c>, and writes <c>run.json</c>
    /// with status running. The run's id is the directory's name.
    /// </summary>
    /// <exception cref="TelosInputException">The name is not a valid run name.</exception>
    public static RunDirectory Create(string directory, string name, string kind, string resolvedConfigToml, long seed)
    {
        RunStore.ValidateName(name);
        var dir = Path.GetFullPath(directory);
        Directory.CreateDirectory(Path.Combine(dir, "checkpoints"));
        Directory.CreateDirectory(Path.Combine(dir, "tb"));
        var configPath = Path.Combine(dir, "config.toml");
        if (!File.Exists(configPath) || File.ReadAllText(configPath) != resolvedConfigToml)
        {
            AtomicFile.WriteAllText(configPath, resolvedConfigToml);
        }
        var id = Path.GetFileName(dir);
        var record = new RunRecord(id, id, name, kind, RunStatus.Running, Configuration.TomlHash.Of(resolvedConfigToml), seed,
            GitCommit.Find(Directory.GetCurrentDirectory()), DateTimeOffset.UtcNow, null, dir, Environment.ProcessId, null);
        var store = new FileStatusStore(record);
        store.Write();
        var run = new RunDirectory(record, store);
        run.Log($"created run {id} kind={kind} seed={seed} config_hash={record.ConfigHash} git={record.GitCommit} build={GitCommit.OfBuild()}");
        return run;
    }

    /// <summary>The record in <paramref name="directory"/>'s <c>run.json</c>, or null when there is none (the run never started).</summary>
    /// <exception cref="TelosInputException">The file is not a run record.</exception>
    public static RunRecord? Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            if ((string?)json["format"] != Format)
            {
                throw new TelosInputException($"{path}: not a run record (format is not \"{Format}\")");
            }
            return new RunRecord(
                (string)json["id"]!, (string)json["id"]!, (string)json["name"]!, (string)json["kind"]!,
                Enum.Parse<RunStatus>((string)json["status"]!, ignoreCase: true), (string)json["config_hash"]!, (long)json["seed"]!,
                (string)json["git_commit"]!, DateTimeOffset.Parse((string)json["started_utc"]!, CultureInfo.InvariantCulture),
                json["ended_utc"] is { } ended ? DateTimeOffset.Parse((string)ended!, CultureInfo.InvariantCulture) : null,
                Path.GetFullPath(directory), (int)json["pid"]!, (string?)json["message"]);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or ArgumentException or NullReferenceException)
        {
            throw new TelosInputException($"{path}: unreadable run record: {e.Message.ReplaceLineEndings(" ")}");
        }
    }

    private sealed class FileStatusStore(RunRecord record) : IRunStatusStore
    {
        private RunRecord _record = record;

        public void SetStatus(string id, RunStatus status, DateTimeOffset? ended, string? message, int pid)
        {
            _record = _record with { Status = status, EndedUtc = ended, Message = message, Pid = pid };
            Write();
        }

        public void Write()
        {
            var json = new JsonObject
            {
                ["format"] = Format,
                ["id"] = _record.Id,
                ["name"] = _record.Name,
                ["kind"] = _record.Kind,
                ["status"] = RunIndex.StatusName(_record.Status),
                ["config_hash"] = _record.ConfigHash,
                ["seed"] = _record.Seed,
                ["git_commit"] = _record.GitCommit,
                ["started_utc"] = _record.StartedUtc.ToString("O", CultureInfo.InvariantCulture),
                ["ended_utc"] = _record.EndedUtc?.ToString("O", CultureInfo.InvariantCulture),
                ["pid"] = _record.Pid,
                ["message"] = _record.Message,
            };
            AtomicFile.WriteAllText(Path.Combine(_record.Directory, FileName), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
    }
}
