namespace Telos.IO;

/// <summary>
/// Writes that a crash or kill can never leave half-done: the content goes to a temp file in the
/// same folder, is flushed to disk, then renamed over the target (rename is atomic on one file
/// system). Readers see either the old file or the new one.
/// </summary>
public static class AtomicFile
{
    /// <summary>Atomically replaces <paramref name="path"/> with what <paramref name="write"/> writes.</summary>
    /// <remarks>Creates the parent folder. On failure the temp file is removed and the target is untouched.</remarks>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(folder);
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
            }
            throw;
        }
    }

    /// <summary>Atomically replaces <paramref name="path"/> with <paramref name="bytes"/>.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, s => s.Write(copy));
    }

    /// <summary>Atomically replaces <paramref name="path"/> with UTF-8 <paramref name="text"/> (no BOM).</summary>
    public static void WriteAllText(string path, string text)
    {
        var bytes = new System.Text.UTF8Encoding(false).GetBytes(text);
        Write(path, s => s.Write(bytes));
    }
}
