using System.Buffers.Binary;
using System.IO.Compression;
using static TorchSharp.torch;

namespace Telos.Learning.LearnedOptimizers;

/// <summary>
/// An image classification set in memory: images [count, rows·cols] as float32 in [0, 1],
/// labels [count] as int64. Owns its tensors.
/// </summary>
public sealed class LabeledImages : IDisposable
{
    /// <summary>Takes ownership of <paramref name="images"/> [count, pixels] and <paramref name="labels"/> [count].</summary>
    public LabeledImages(Tensor images, Tensor labels, int classes)
    {
        if (images.shape[0] != labels.shape[0])
        {
            throw new ArgumentException($"images ({images.shape[0]}) and labels ({labels.shape[0]}) differ in count");
        }
        Images = images.DetachFromDisposeScope();
        Labels = labels.DetachFromDisposeScope();
        Classes = classes;
    }

    /// <summary>Images [count, pixels], float32 in [0, 1].</summary>
    public Tensor Images { get; }

    /// <summary>Labels [count], int64 in [0, Classes).</summary>
    public Tensor Labels { get; }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }

    /// <summary>Number of examples.</summary>
    public int Count => (int)Images.shape[0];

    /// <summary>Pixels per image.</summary>
    public int Pixels => (int)Images.shape[1];

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

/// <summary>
/// Reads MNIST-format IDX files (idx3 images, idx1 labels; plain or .gz), as shipped by Debian's
/// <c>dataset-fashion-mnist</c> package in <see cref="FashionMnistFolder"/>.
/// </summary>
public static class IdxImages
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> installs its IDX files.</summary>
    public const string FashionMnistFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>Which half of a dataset.</summary>
    public enum Split
    {
        /// <summary>train-images / train-labels (60,000 examples).</summary>
        Train,

        /// <summary>t10k-images / t10k-labels (10,000 examples).</summary>
        Test,
    }

    /// <summary>
    /// Loads a split of Fashion-MNIST from <paramref name="folder"/> (default: Debian's package folder).
    /// </summary>
    /// <exception cref="TelosInputException">The files are missing; the message names the package.</exception>
    public static LabeledImages LoadFashionMnist(Split split, string? folder = null)
    {
        folder ??= FashionMnistFolder;
        if (!TryFind(folder, split, out var images, out var labels))
        {
            throw new TelosInputException(
                $"Fashion-MNIST not found: no {Prefix(split)}-images-idx3-ubyte[.gz] in {folder}; install Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or give mnist_path");
        }
        return Load(images, labels);
    }

    /// <summary>Loads a split of MNIST (or any MNIST-format set) from the IDX files in <paramref name="folder"/>.</summary>
    /// <exception cref="TelosInputException">The files are missing or malformed; the message names the file.</exception>
    public static LabeledImages LoadFolder(string folder, Split split)
    {
        if (!TryFind(folder, split, out var images, out var labels))
        {
            throw new TelosInputException($"no {Prefix(split)}-images-idx3-ubyte[.gz] and {Prefix(split)}-labels-idx1-ubyte[.gz] in {folder}");
        }
        return Load(images, labels);
    }

    /// <summary>Loads an idx3 image file and an idx1 label file (each plain or gzip).</summary>
    public static LabeledImages Load(string imagesPath, string labelsPath)
    {
        var imageBytes = ReadAll(imagesPath);
        var labelBytes = ReadAll(labelsPath);
        var (count, pixels) = ParseImageHeader(imageBytes, imagesPath);
        var labelCount = ParseLabelHeader(labelBytes, labelsPath);
        if (labelCount != count)
        {
            throw new TelosInputException($"{labelsPath}: {labelCount} labels but {imagesPath} has {count} images");
        }
        var pixelsAsFloat = new float[(long)count * pixels];
        var raw = imageBytes.AsSpan(16, count * pixels);
        for (var i = 0; i < raw.Length; i++)
        {
            pixelsAsFloat[i] = raw[i] * (1f / 255f);
        }
        var labels = new long[count];
        var maxLabel = 0;
        for (var i = 0; i < count; i++)
        {
            labels[i] = labelBytes[8 + i];
            maxLabel = Math.Max(maxLabel, labelBytes[8 + i]);
        }
        return new LabeledImages(tensor(pixelsAsFloat).reshape(count, pixels), tensor(labels), Math.Max(10, maxLabel + 1));
    }

    /// <summary>Writes an idx3 image file (uncompressed) — for tests and tiny generated sets.</summary>
    public static void WriteImages(string path, byte[] pixels, int count, int rows, int cols)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(header, 0x00000803);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), cols);
        Telos.IO.AtomicFile.WriteAllBytes(path, [.. header, .. pixels]);
    }

    /// <summary>Writes an idx1 label file (uncompressed).</summary>
    public static void WriteLabels(string path, byte[] labels)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, 0x00000801);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), labels.Length);
        Telos.IO.AtomicFile.WriteAllBytes(path, [.. header, .. labels]);
    }

    private static string Prefix(Split split) => split == Split.Train ? "train" : "t10k";

    private static bool TryFind(string folder, Split split, out string images, out string labels)
    {
        images = FirstExisting(Path.Combine(folder, $"{Prefix(split)}-images-idx3-ubyte"));
        labels = FirstExisting(Path.Combine(folder, $"{Prefix(split)}-labels-idx1-ubyte"));
        return images.Length > 0 && labels.Length > 0;
    }

    private static string FirstExisting(string stem)
    {
        foreach (var candidate in new[] { stem, stem + ".gz", stem.Replace("-idx", ".idx", StringComparison.Ordinal) })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return "";
    }

    private static byte[] ReadAll(string path)
    {
        using var file = File.OpenRead(path);
        using var memory = new MemoryStream();
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            gzip.CopyTo(memory);
        }
        else
        {
            file.CopyTo(memory);
        }
        return memory.ToArray();
    }

    private static (int Count, int Pixels) ParseImageHeader(byte[] bytes, string path)
    {
        if (bytes.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(bytes) != 0x00000803)
        {
            throw new TelosInputException($"{path}: not an idx3 image file (magic 0x00000803 expected)");
        }
        var count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        var rows = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8));
        var cols = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(12));
        if (count < 0 || rows < 1 || cols < 1 || bytes.Length < 16 + (long)count * rows * cols)
        {
            throw new TelosInputException($"{path}: header says {count}×{rows}×{cols} but the file has {bytes.Length - 16} pixel bytes");
        }
        return (count, rows * cols);
    }

    private static int ParseLabelHeader(byte[] bytes, string path)
    {
        if (bytes.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(bytes) != 0x00000801)
        {
            throw new TelosInputException($"{path}: not an idx1 label file (magic 0x00000801 expected)");
        }
        var count = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        if (count < 0 || bytes.Length < 8 + count)
        {
            throw new TelosInputException($"{path}: header says {count} labels but the file has {bytes.Length - 8}");
        }
        return count;
    }
}
