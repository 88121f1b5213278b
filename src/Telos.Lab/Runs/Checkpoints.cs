using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.PyBridge;
using Telos.IO;

namespace Telos.Lab.Runs;

/// <summary>A finished checkpoint on disk: the safetensors file and its JSON sidecar.</summary>
/// <param name="Step">The training step the checkpoint was taken at.</param>
/// <param name="TensorPath">Absolute path of <c>step-NNNNNNNNNN.safetensors</c>.</param>
/// <param name="SidecarPath">Absolute path of <c>step-NNNNNNNNNN.json</c>.</param>
/// <param name="Bytes">Size of the safetensors file the sidecar vouches for.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the safetensors file.</param>
/// <param name="CreatedUtc">When it was written.</param>
public sealed record CheckpointInfo(long Step, string TensorPath, string SidecarPath, long Bytes, string Sha256, DateTimeOffset CreatedUtc);

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
    public T MetadataAs<T>() => Metadata.Deserialize<T>(CheckpointFiles.Json) ?? throw new TelosInputException($"{Info.SidecarPath}: metadata is null");

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
    };

    public static string BaseName(long step) => $"step-{step:D10}";

    public static CheckpointInfo Save(string folder, long step, IReadOnlyDictionary<string, torch.Tensor> tensors, object? metadata)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        var baseName = BaseName(step);
        var tensorPath = Path.Combine(folder, baseName + ".safetensors");
        var sidecarPath = Path.Combine(folder, baseName + ".json");
        byte[] bytes;
        using (var buffer = new MemoryStream())
        {
            Safetensors.SaveStateDict(buffer, new Dictionary<string, torch.Tensor>(tensors), leaveOpen: true);
            bytes = buffer.ToArray();
        }
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
            tensors.ToDictionary(t => t.Key, t => new TensorEntry(t.Value.dtype.ToString().ToLowerInvariant(), t.Value.shape)),
            JsonSerializer.SerializeToElement(metadata, Json));
        AtomicFile.WriteAllText(sidecarPath, JsonSerializer.Serialize(sidecar, Json));
        return new CheckpointInfo(step, tensorPath, sidecarPath, bytes.LongLength, hash, created);
    }

    /// <summary>Finished checkpoints (sidecar present and readable), by step ascending.</summary>
    public static List<CheckpointInfo> List(string folder)
    {
        var found = new List<CheckpointInfo>();
        if (!Directory.Exists(folder))
        {
            return found;
        }
        foreach (var sidecarPath in Directory.EnumerateFiles(folder, "step-*.json"))
        {
            var name = Path.GetFileName(sidecarPath);
            if (name.StartsWith('.'))
            {
                continue;
            }
            found.Add(ReadSidecar(sidecarPath).Info);
        }
        found.Sort((a, b) => a.Step.CompareTo(b.Step));
        return found;
    }

    public static LoadedCheckpoint Load(CheckpointInfo info)
    {
        var (checkedInfo, metadata) = ReadSidecar(info.SidecarPath);
        var bytes = Verify(checkedInfo);
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            var tensors = Safetensors.LoadStateDict(stream, leaveOpen: false);
            return new LoadedCheckpoint(checkedInfo, tensors, metadata);
        }
        catch (Exception e) when (e is not TelosInputException)
        {
            throw new TelosInputException($"{info.TensorPath}: corrupt checkpoint: {OneLine(e.Message)}", e);
        }
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
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new TelosInputException($"{sidecarPath}: unreadable checkpoint sidecar: {OneLine(e.Message)}", e);
        }
        if (sidecar is null || sidecar.Format != Format || string.IsNullOrEmpty(sidecar.File) || sidecar.File.Contains('/') || string.IsNullOrEmpty(sidecar.Sha256))
        {
            throw new TelosInputException($"{sidecarPath}: not a {Format} sidecar");
        }
        var folder = Path.GetDirectoryName(Path.GetFullPath(sidecarPath))!;
        var info = new CheckpointInfo(sidecar.Step, Path.Combine(folder, sidecar.File), Path.GetFullPath(sidecarPath), sidecar.Bytes, sidecar.Sha256, sidecar.CreatedUtc);
        return (info, sidecar.Metadata);
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    internal sealed record TensorEntry(string Dtype, long[] Shape);

    internal sealed record Sidecar(
        string Format,
        long Step,
        string File,
        long Bytes,
        string Sha256,
        DateTimeOffset CreatedUtc,
        Dictionary<string, TensorEntry> Tensors,
        JsonElement Metadata);
}
