// One file serves two builds: MSBuild compiles it through RoslynCodeTaskFactory as the
// WeakenGlibcxxVersionNeed task (build/Telos.NativeFix.targets), and Telos.Learning compiles it
// (with TELOS_NO_MSBUILD) so `telos doctor` can report whether the fix is in place.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Telos.Build
{
    /// <summary>The state of one version requirement in an ELF file's <c>.gnu.version_r</c>.</summary>
    public enum VersionNeedState
    {
        /// <summary>The file does not require that version at all.</summary>
        Absent,
        /// <summary>Required and fatal if missing (the published state).</summary>
        Strong,
        /// <summary>Required with VER_FLG_WEAK: glibc warns instead of refusing to load.</summary>
        Weak,
    }

    /// <summary>
    /// Reads and edits the version-needed entries (Verneed/Vernaux, <c>.gnu.version_r</c>) of a
    /// little-endian ELF64 shared object. Only <c>vna_flags</c> is ever changed.
    /// </summary>
    public static class ElfVersionNeeds
    {
        /// <summary>The version libLibTorchSharp.so asks for only for a link-time marker symbol.</summary>
        public const string GlibcxxMarkerVersion = "GLIBCXX_3.4.32";
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlgWeak = 0x2;

        /// <summary>Finds the state of <paramref name="version"/> in the image.</summary>
        /// <exception cref="InvalidDataException">The bytes are not a little-endian ELF64 image.</exception>
        public static VersionNeedState Inspect(byte[] image, string version)
        {
            var offset = FindFlagsOffset(image, version);
            if (offset < 0)
            {
                return VersionNeedState.Absent;
            }
            return (BitConverter.ToUInt16(image, offset) & VerFlgWeak) != 0 ? VersionNeedState.Weak : VersionNeedState.Strong;
        }

        /// <summary>Sets VER_FLG_WEAK on <paramref name="version"/>; returns false when nothing changed.</summary>
        public static bool MakeWeak(byte[] image, string version)
        {
            var offset = FindFlagsOffset(image, version);
            if (offset < 0)
            {
                return false;
            }
            var flags = BitConverter.ToUInt16(image, offset);
            if ((flags & VerFlgWeak) != 0)
            {
                return false;
            }
            flags |= VerFlgWeak;
            image[offset] = (byte)(flags & 0xff);
            image[offset + 1] = (byte)(flags >> 8);
            return true;
        }

        /// <summary>
        /// True when a libstdc++ this machine's loader would use defines <paramref name="version"/>.
        /// Looks at the usual multiarch locations; no file found counts as "does not define".
        /// </summary>
        public static bool SystemLibStdCxxDefines(string version)
        {
            var candidates = new List<string>
            {
                "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
                "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
                "/usr/lib64/libstdc++.so.6",
                "/usr/lib/libstdc++.so.6",
                "/lib/x86_64-linux-gnu/libstdc++.so.6",
            };
            var needle = Encoding.ASCII.GetBytes(version + "\0");
            foreach (var path in candidates)
            {
                if (!File.Exists(path))
                {
                    continue;
                }
                var bytes = File.ReadAllBytes(path);
                if (IndexOf(bytes, needle) >= 0)
                {
                    return true;
                }
            }
            return false;
        }

        private static int FindFlagsOffset(byte[] image, string version)
        {
            if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
            {
                throw new InvalidDataException("not an ELF file");
            }
            if (image[4] != 2 || image[5] != 1)
            {
                throw new InvalidDataException("not a little-endian ELF64 file");
            }
            var shoff = checked((int)BitConverter.ToUInt64(image, 0x28));
            int shentsize = BitConverter.ToUInt16(image, 0x3A);
            int shnum = BitConverter.ToUInt16(image, 0x3C);
            if (shoff <= 0 || shentsize < 64 || shoff + (long)shnum * shentsize > image.Length)
            {
                throw new InvalidDataException("section header table is out of bounds (truncated file?)");
            }
            for (var i = 0; i < shnum; i++)
            {
                var sh = shoff + i * shentsize;
                if (BitConverter.ToUInt32(image, sh + 4) != ShtGnuVerneed)
                {
                    continue;
                }
                var secOffset = checked((int)BitConverter.ToUInt64(image, sh + 0x18));
                var link = (int)BitConverter.ToUInt32(image, sh + 0x28);
                var strSh = shoff + link * shentsize;
                var strOffset = checked((int)BitConverter.ToUInt64(image, strSh + 0x18));
                var verneed = secOffset;
                while (true)
                {
                    int count = BitConverter.ToUInt16(image, verneed + 2);
                    var aux = verneed + (int)BitConverter.ToUInt32(image, verneed + 8);
                    for (var j = 0; j < count; j++)
                    {
                        var nameOffset = strOffset + (int)BitConverter.ToUInt32(image, aux + 8);
                        if (ReadCString(image, nameOffset) == version)
                        {
                            return aux + 4;
                        }
                        var nextAux = (int)BitConverter.ToUInt32(image, aux + 12);
                        if (nextAux == 0)
                        {
                            break;
                        }
                        aux += nextAux;
                    }
                    var next = (int)BitConverter.ToUInt32(image, verneed + 12);
                    if (next == 0)
                    {
                        break;
                    }
                    verneed += next;
                }
            }
            return -1;
        }

        private static string ReadCString(byte[] image, int offset)
        {
            var end = offset;
            while (end < image.Length && image[end] != 0)
            {
                end++;
            }
            return Encoding.ASCII.GetString(image, offset, end - offset);
        }

        private static int IndexOf(byte[] haystack, byte[] needle)
        {
            // netstandard2.0 (the task factory's target) has no span search.
            for (var i = 0; i + needle.Length <= haystack.Length; i++)
            {
                var j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j])
                {
                    j++;
                }
                if (j == needle.Length)
                {
                    return i;
                }
            }
            return -1;
        }
    }

#if !TELOS_NO_MSBUILD
    /// <summary>
    /// MSBuild task: marks GLIBCXX_3.4.32 weak in every copied libLibTorchSharp.so under a folder,
    /// when the system libstdc++ lacks it. Idempotent; replaces files atomically so a hard link
    /// into the NuGet cache is never written through.
    /// </summary>
    public sealed class WeakenGlibcxxVersionNeed : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required]
        public string Directory { get; set; } = "";

        public override bool Execute()
        {
            if (!System.IO.Directory.Exists(Directory) || !System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux))
            {
                return true;
            }
            var files = System.IO.Directory.GetFiles(Directory, "libLibTorchSharp.so", SearchOption.AllDirectories);
            if (files.Length == 0)
            {
                return true;
            }
            if (ElfVersionNeeds.SystemLibStdCxxDefines(ElfVersionNeeds.GlibcxxMarkerVersion))
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "System libstdc++ defines {0}; libLibTorchSharp.so left as published.", ElfVersionNeeds.GlibcxxMarkerVersion);
                return true;
            }
            foreach (var file in files)
            {
                try
                {
                    var image = File.ReadAllBytes(file);
                    if (!ElfVersionNeeds.MakeWeak(image, ElfVersionNeeds.GlibcxxMarkerVersion))
                    {
                        continue;
                    }
                    var temp = file + ".telos-tmp";
                    using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
                    {
                        stream.Write(image, 0, image.Length);
                        stream.Flush(true);
                    }
                    File.Replace(temp, file, null); // rename(2): atomic, and breaks any hard link
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High, "telos: marked {0} weak in {1}", ElfVersionNeeds.GlibcxxMarkerVersion, file);
                }
                catch (Exception e)
                {
                    Log.LogError("telos: could not mark {0} weak in {1}: {2}. TorchSharp will not load on this machine; delete the build output and rebuild, or install a libstdc++ that defines {0}.", ElfVersionNeeds.GlibcxxMarkerVersion, file, e.Message);
                    return false;
                }
            }
            return true;
        }
    }
#endif
}
