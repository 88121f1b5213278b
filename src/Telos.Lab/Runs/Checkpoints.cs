using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Telos.IO;
using Telos.Learning.Runs;
using TorchSharp;

namespace Telos.Lab.Runs;

/// <summary>A finished checkpoint on disk: the safetensors file and its JSON sidecar.</summary>
/// <param name="Step">The training step the checkpoint was taken at.</param>
/// <param name="TensorPath">Absolute path of <c>step-NNNNNNNNNN.safetensors</c>.</param>
/// <param name="SidecarPath">Absolute path of <c>step-NNNNNNNNNN.json</c>.</param>
/// <param name="Bytes">Size of the safetensors file the sidecar vouches for.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the safetensors file.</param>
/// <param name="CreatedUtc">When it was written.</param>
public sealed record CheckpointInfo(long Step, string TensorPath, string SidecarPath, long Bytes, string Sha256, DateTimeOffset CreatedUtc);

/// <summary>One sidecar found on disk: its checked contents, or why it cannot be used.</summary>
/// <param name="SidecarPath">Absolute path of the <c>step-NNNNNNNNNN.json</c> file.</param>
/// <param name="Info">The checkpoint it describes, or null when the sidecar is unreadable or invalid.</param>
/// <param name="Problem">One line saying what is wrong with the sidecar, or null.</param>
public sealed record ScannedCheckpoint(string SidecarPath, CheckpointInfo? Info, string? Problem);

/// <summary>A checkpoint read back: its tensors (owned by this object until disposed) and its metadata.</summary>
public sealed class LoadedCheckpoint : IDisposable
{
    private readonly Dictionary<string, torch.Tensor> _tensors;

    internal LoadedCheckpoint(CheckpointInfo info, Dictionary<string, torch.Tensor> tensors, JsonElement metadata)
    {
        Info = info;
        _tensors = tensors;
        Metadata = metadata;
    }

    public CheckpointInfo Info { get; }

    public long Step => Info.Step;

    /// <summary>Tensors by name, on CPU. Disposing the checkpoint disposes them; copy (<c>copy_</c>) what you keep.</summary>
    public IReadOnlyDictionary<string, torch.Tensor> Tensors => _tensors;

    /// <summary>The metadata object given to <see cref="RunDirectory.SaveCheckpoint"/>, as JSON.</summary>
    public JsonElement Metadata { get; }

    /// <summary>The metadata deserialized as <typeparamref name="T"/> (System.Text.Json, snake_case names).</summary>
    /// <exception cref="TelosInputException">The metadata is null or does not have <typeparamref name="T"/>'s shape; one line naming the sidecar.</exception>
    public T MetadataAs<T>()
    {
        try
        {
            return Metadata.Deserialize<T>(CheckpointFiles.Json) ?? throw new TelosInputException($"{Info.SidecarPath}: metadata is null");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new TelosInputException($"{Info.SidecarPath}: metadata does not match {typeof(T).Name}: {e.Message.ReplaceLineEndings(" ").Trim()}", e);
        }
    }

    /// <summary>The tensor <paramref name="name"/>, or a one-line input error naming the file.</summary>
    public torch.Tensor Tensor(string name) =>
        _tensors.TryGetValue(name, out var tensor) ? tensor : throw new TelosInputException($"{Info.TensorPath}: checkpoint has no tensor '{name}'");

    public void Dispose()
    {
        foreach (var tensor in _tensors.Values)
        {
            tensor.Dispose();
        }
        _tensors.Clear();
    }
}

/// <summary>
/// Checkpoint files of one run directory. Protocol: the safetensors file is written atomically first,
/// then the sidecar (size and SHA-256 of the tensors file) atomically last. A checkpoint exists only
/// when its sidecar does, so a kill at any point leaves every finished checkpoint intact and no
/// half-written one visible.
/// </summary>
internal static class CheckpointFiles
{
    public const string Format = "telos-checkpoint/1";

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    public static string BaseName(long step) => $"step-{step:D10}";

    /// <summary>Writes the safetensors bytes, then the sidecar that vouches for them (size, SHA-256, tensor list).</summary>
    public static CheckpointInfo Save(string folder, long step, byte[] bytes, IReadOnlyDictionary<string, TensorDescription> tensors, object? metadata)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        var baseName = BaseName(step);
        var tensorPath = Path.Combine(folder, baseName + ".safetensors");
        var sidecarPath = Path.Combine(folder, baseName + ".json");
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        AtomicFile.WriteAllBytes(tensorPath, bytes);
        var created = DateTimeOffset.UtcNow;
        var sidecar = new Sidecar(
            Format,
            step,
            Path.GetFileName(tensorPath),
            bytes.LongLength,
            hash,
            created,
            tensors.ToDictionary(t => t.Key, t => t.Value),
            JsonSerializer.SerializeToElement(metadata, Json));
        AtomicFile.WriteAllText(sidecarPath, JsonSerializer.Serialize(sidecar, Json));
        return new CheckpointInfo(step, tensorPath, sidecarPath, bytes.LongLength, hash, created);
    }

    /// <summary>Finished checkpoints whose sidecar is readable, by step ascending; unreadable sidecars are left out (see <see cref="Scan"/>).</summary>
    public static List<CheckpointInfo> List(string folder) =>
        [.. Scan(folder).Where(c => c.Info is not null).Select(c => c.Info!).OrderBy(c => c.Step)];

    /// <summary>
    /// Every sidecar in <paramref name="folder"/>, newest (highest step in the file name) first, each read
    /// and checked: <see cref="ScannedCheckpoint.Info"/> is null and <see cref="ScannedCheckpoint.Problem"/>
    /// says why when the sidecar is unreadable or invalid.
    /// </summary>
    public static List<ScannedCheckpoint> Scan(string folder)
    {
        var found = new List<ScannedCheckpoint>();
        if (!Directory.Exists(folder))
        {
            return found;
        }
        // Names are step-NNNNNNNNNN.json (zero-padded), so ordinal order is step order.
        var sidecars = Directory.EnumerateFiles(folder, "step-*.json")
            .Where(p => !Path.GetFileName(p).StartsWith('.'))
            .OrderByDescending(p => Path.GetFileName(p), StringComparer.Ordinal);
        foreach (var sidecarPath in sidecars)
        {
            try
            {
                found.Add(new ScannedCheckpoint(sidecarPath, ReadSidecar(sidecarPath).Info, null));
            }
            catch (TelosInputException e)
            {
                found.Add(new ScannedCheckpoint(sidecarPath, null, e.Message));
            }
        }
        return found;
    }

    public static LoadedCheckpoint Load(CheckpointInfo info)
    {
        var (checkedInfo, metadata) = ReadSidecar(info.SidecarPath);
        var bytes = Verify(checkedInfo);
        return new LoadedCheckpoint(checkedInfo, SafetensorsBytes.Decode(bytes, info.TensorPath), metadata);
    }

    /// <summary>Reads the tensors file and checks its size and hash against the sidecar.</summary>
    public static byte[] Verify(CheckpointInfo info)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(info.TensorPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TelosInputException($"{info.TensorPath}: cannot read checkpoint: {OneLine(e.Message)}", e);
        }
        if (bytes.LongLength != info.Bytes)
        {
            throw new TelosInputException($"{info.TensorPath}: truncated or corrupt checkpoint: {bytes.LongLength} bytes, sidecar says {info.Bytes}");
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (hash != info.Sha256)
        {
            throw new TelosInputException($"{info.TensorPath}: corrupt checkpoint: SHA-256 {hash[..12]}… does not match the sidecar's {info.Sha256[..Math.Min(12, info.Sha256.Length)]}…");
        }
        return bytes;
    }

    private static (CheckpointInfo Info, JsonElement Metadata) ReadSidecar(string sidecarPath)
    {
        Sidecar? sidecar;
        try
        {
            sidecar = JsonSerializer.Deserialize<Sidecar>(File.ReadAllText(sidecarPath), Json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            throw new TelosInputException($"{sidecarPath}: unreadable checkpoint sidecar: {OneLine(e.Message)}", e);
        }
        if (sidecar is null || sidecar.Format != Format)
        {
            throw new TelosInputException($"{sidecarPath}: not a {Format} sidecar");
        }
        if (sidecar.Step < 0 || Path.GetFileName(sidecarPath) != BaseName(sidecar.Step) + ".json")
        {
            throw new TelosInputException($"{sidecarPath}: 'step' is {sidecar.Step}, which does not match the file name");
        }
        if (sidecar.File != BaseName(sidecar.Step) + ".safetensors")
        {
            throw new TelosInputException($"{sidecarPath}: 'file' must be '{BaseName(sidecar.Step)}.safetensors'");
        }
        if (sidecar.Bytes < 0)
        {
            throw new TelosInputException($"{sidecarPath}: 'bytes' is {sidecar.Bytes}; expected a size >= 0");
        }
        if (sidecar.Sha256 is not { Length: 64 } || !sidecar.Sha256.All(char.IsAsciiHexDigitLower))
        {
            throw new TelosInputException($"{sidecarPath}: 'sha256' must be 64 lower-case hex digits");
        }
        if (sidecar.Metadata.ValueKind == JsonValueKind.Undefined)
        {
            throw new TelosInputException($"{sidecarPath}: missing field 'metadata'");
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(sidecarPath))!;
        var info = new CheckpointInfo(sidecar.Step, Path.Combine(folder, sidecar.File), Path.GetFullPath(sidecarPath), sidecar.Bytes, sidecar.Sha256, sidecar.CreatedUtc);
        return (info, sidecar.Metadata);
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    internal sealed record Sidecar(
        string Format,
        long Step,
        string File,
        long Bytes,
        string Sha256,
        DateTimeOffset CreatedUtc,
        Dictionary<string, TensorDescription> Tensors,
        JsonElement Metadata);
}
