using System.Runtime.InteropServices;
using Telos.Build;
using TorchSharp;

namespace Telos.Learning.Native;

/// <summary>What <c>telos doctor</c> reports about LibTorch in this process.</summary>
/// <param name="Loaded">True when a tensor could be created through TorchSharp.</param>
/// <param name="LibTorchVersion">LibTorch's version string, or null when not loaded.</param>
/// <param name="Threads">torch.get_num_threads() after configuration, or 0 when not loaded.</param>
/// <param name="NativeFix">The GLIBCXX_3.4.32 requirement in the copied libLibTorchSharp.so: Absent, Strong, Weak, or "missing" when no file is there.</param>
/// <param name="SystemHasGlibcxx33432">Whether the system libstdc++ defines GLIBCXX_3.4.32 (then no fix is needed).</param>
/// <param name="Error">The load failure's message, or null.</param>
public sealed record TorchStatus(bool Loaded, string? LibTorchVersion, int Threads, string NativeFix, bool SystemHasGlibcxx33432, string? Error);

/// <summary>
/// The one place that touches TorchSharp's process-wide native state: loading, thread count,
/// seeding. Everything else in Telos calls through here before its first tensor.
/// </summary>
public static class TorchRuntime
{
    private static readonly object Gate = new();
    private static bool _configured;

    /// <summary>
    /// Loads LibTorch and fixes the intra-op thread count (determinism needs a fixed count).
    /// Safe to call many times; the first call's <paramref name="threads"/> wins.
    /// </summary>
    /// <exception cref="TypeInitializationException">LibTorch could not be loaded.</exception>
    public static void EnsureInitialized(int threads = 1)
    {
        lock (Gate)
        {
            if (_configured)
            {
                return;
            }
            torch.InitializeDeviceType(DeviceType.CPU);
            torch.set_num_threads(Math.Max(1, threads));
            _configured = true;
        }
    }

    /// <summary>Whether <see cref="EnsureInitialized"/> has run in this process.</summary>
    public static bool IsInitialized
    {
        get
        {
            lock (Gate)
            {
                return _configured;
            }
        }
    }

    /// <summary>
    /// Whether LibTorch's native libraries are mapped into this process (a module whose file name
    /// contains "torch", e.g. <c>libLibTorchSharp.so</c>, <c>libtorch_cpu.so</c>), however they got there.
    /// Stronger than <see cref="IsInitialized"/>: it also sees a TorchSharp call that skipped this class.
    /// </summary>
    public static bool LibTorchLoaded()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        foreach (System.Diagnostics.ProcessModule module in process.Modules)
        {
            if (module.ModuleName.Contains("torch", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Seeds LibTorch's global CPU generator.</summary>
    public static void Seed(long seed)
    {
        EnsureInitialized();
        torch.manual_seed(seed);
    }

    /// <summary>Probes LibTorch without throwing; used by <c>telos doctor</c>.</summary>
    public static TorchStatus Probe()
    {
        var fix = NativeFixState();
        var systemHas = OperatingSystem.IsLinux() && ElfVersionNeeds.SystemLibStdCxxDefines(ElfVersionNeeds.GlibcxxMarkerVersion);
        try
        {
            EnsureInitialized();
            using var scope = torch.NewDisposeScope();
            var x = torch.ones(2, 2);
            var sum = (x + x).sum().item<float>();
            if (sum != 8f)
            {
                return new TorchStatus(false, null, 0, fix, systemHas, $"tensor arithmetic gave {sum}, expected 8");
            }
            return new TorchStatus(true, torch.__version__, torch.get_num_threads(), fix, systemHas, null);
        }
        catch (Exception e)
        {
            var inner = e;
            while (inner.InnerException is not null)
            {
                inner = inner.InnerException;
            }
            return new TorchStatus(false, null, 0, fix, systemHas, inner.Message.Split('\n')[0]);
        }
    }

    /// <summary>State of the GLIBCXX_3.4.32 requirement in the libLibTorchSharp.so next to this app.</summary>
    public static string NativeFixState()
    {
        var rid = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "linux-arm64" : "linux-x64";
        var candidates = new[]
        {
            Path.Combine(AppContext.BaseDirectory, "runtimes", rid, "native", "libLibTorchSharp.so"),
            Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so"),
        };
        foreach (var path in candidates)
        {
            if (File.Exists(path))
            {
                try
                {
                    return ElfVersionNeeds.Inspect(File.ReadAllBytes(path), ElfVersionNeeds.GlibcxxMarkerVersion).ToString();
                }
                catch (InvalidDataException e)
                {
                    return "unreadable: " + e.Message;
                }
            }
        }
        return "missing";
    }
}
