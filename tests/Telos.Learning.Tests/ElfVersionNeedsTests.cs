using Telos.Build;

namespace Telos.Learning.Tests;

/// <summary>The build-time edit of libLibTorchSharp.so: exactly one flag, idempotent.</summary>
public sealed class ElfVersionNeedsTests
{
    private static string PublishedLibrary()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        return Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
    }

    [Fact]
    public void PublishedLibraryNeedsTheMarkerVersionStrongly()
    {
        var path = PublishedLibrary();
        Assert.True(File.Exists(path), $"TorchSharp 0.107.0 is restored, so {path} exists");
        Assert.Equal(VersionNeedState.Strong, ElfVersionNeeds.Inspect(File.ReadAllBytes(path), ElfVersionNeeds.GlibcxxMarkerVersion));
    }

    [Fact]
    public void MakeWeakChangesOneFlagByteAndIsIdempotent()
    {
        var original = File.ReadAllBytes(PublishedLibrary());
        var patched = (byte[])original.Clone();
        Assert.True(ElfVersionNeeds.MakeWeak(patched, ElfVersionNeeds.GlibcxxMarkerVersion));
        Assert.Equal(VersionNeedState.Weak, ElfVersionNeeds.Inspect(patched, ElfVersionNeeds.GlibcxxMarkerVersion));
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToArray();
        Assert.Single(changed);
        Assert.Equal(0x2, patched[changed[0]] ^ original[changed[0]]);
        Assert.False(ElfVersionNeeds.MakeWeak(patched, ElfVersionNeeds.GlibcxxMarkerVersion));
    }

    [Fact]
    public void OtherVersionsAreLeftAlone()
    {
        var image = File.ReadAllBytes(PublishedLibrary());
        Assert.Equal(VersionNeedState.Absent, ElfVersionNeeds.Inspect(image, "GLIBCXX_9.9.99"));
        Assert.False(ElfVersionNeeds.MakeWeak(image, "GLIBCXX_9.9.99"));
    }

    [Fact]
    public void TruncatedOrForeignFilesAreRejected()
    {
        var image = File.ReadAllBytes(PublishedLibrary());
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Inspect(image[..4096], ElfVersionNeeds.GlibcxxMarkerVersion));
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.Inspect(new byte[128], ElfVersionNeeds.GlibcxxMarkerVersion));
    }
}
