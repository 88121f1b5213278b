using System.Text;

namespace Telos.Randomness;

/// <summary>
/// Derives independent component seeds from one root seed: <c>Seeds.Derive(root, "ppo/env")</c>.
/// The derivation is a pure function of (root, name), stable across processes and machines
/// (FNV-1a of the UTF-8 name mixed through SplitMix64), so adding a component never shifts the
/// seeds of the others.
/// </summary>
public static class Seeds
{
    /// <summary>A 64-bit seed for the component <paramref name="name"/> under <paramref name="root"/>.</summary>
    public static ulong Derive(ulong root, string name)
    {
        var hash = 0xcbf29ce484222325UL;
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash ^ b) * 0x100000001b3UL;
        }
        var state = root ^ hash;
        Rng.SplitMix64(ref state);
        return Rng.SplitMix64(ref state);
    }

    /// <summary>A non-negative 63-bit seed, for APIs (TorchSharp) that take <see cref="long"/>.</summary>
    public static long DeriveLong(ulong root, string name) => (long)(Derive(root, name) >> 1);

    /// <summary>A fresh generator for <paramref name="name"/> under <paramref name="root"/>.</summary>
    public static Rng Stream(ulong root, string name) => new(Derive(root, name));
}
