using Telos.Randomness;

namespace Telos.Environments;

/// <summary>
/// A named distribution of Keys &amp; Chests rooms. Per level, the minority count m is uniform in
/// 1..<see cref="MaxMinority"/>; <c>kc/train</c> has m keys and 2m chests (chests outnumber keys,
/// so every key is worth picking up and opening a chest with), <c>kc/test</c> has 2m keys and m chests
/// (a key-hoarding policy now wastes steps). The start and all items are on distinct cells drawn
/// uniformly from the room. Level <c>seed</c> is a pure function of (name, size, max minority, seed).
/// </summary>
public sealed class KeysAndChestsDistribution : ITaskDistribution<KeysAndChests>
{
    /// <summary>Default side length of the room.</summary>
    public const int DefaultSize = 9;

    /// <summary>Default largest minority count.</summary>
    public const int DefaultMaxMinority = 3;

    /// <param name="keysOutnumberChests">false: <c>kc/train</c> (chests = 2 × keys); true: <c>kc/test</c> (keys = 2 × chests).</param>
    /// <param name="size">Side length, 3..25.</param>
    /// <param name="maxMinority">Largest minority count m, 1..8 and 3m + 1 ≤ size².</param>
    /// <param name="stepLimit">Step limit (default 4·size²).</param>
    /// <exception cref="TelosInputException">A parameter is out of range.</exception>
    public KeysAndChestsDistribution(bool keysOutnumberChests, int size = DefaultSize, int maxMinority = DefaultMaxMinority, int? stepLimit = null)
    {
        if (size is < 3 or > 25)
        {
            throw new TelosInputException($"keys & chests room size {size} is not allowed; use 3 to 25");
        }
        if (maxMinority < 1 || 2 * maxMinority > KeysAndChests.MaxItems || 3 * maxMinority + 1 > size * size)
        {
            throw new TelosInputException($"max minority count {maxMinority} does not fit a {size}×{size} room; use 1 to {Math.Min(KeysAndChests.MaxItems / 2, (size * size - 1) / 3)}");
        }
        if (stepLimit is <= 0)
        {
            throw new TelosInputException($"step limit {stepLimit} must be positive");
        }
        KeysOutnumberChests = keysOutnumberChests;
        Size = size;
        MaxMinority = maxMinority;
        StepLimit = stepLimit ?? 4 * size * size;
        Name = keysOutnumberChests ? "kc/test" : "kc/train";
    }

    public string Name { get; }

    /// <summary>Whether keys are the majority (2:1), as in <c>kc/test</c>.</summary>
    public bool KeysOutnumberChests { get; }

    /// <summary>Side length of the room.</summary>
    public int Size { get; }

    /// <summary>Largest minority count m.</summary>
    public int MaxMinority { get; }

    /// <summary>Step limit of every level.</summary>
    public int StepLimit { get; }

    /// <summary>A one-line description with the parameters.</summary>
    public string Description => $"{Name} size={Size} max_minority={MaxMinority}";

    /// <exception cref="TelosInputException">The seed is negative.</exception>
    public KeysAndChests Level(long seed)
    {
        if (seed < 0)
        {
            throw new TelosInputException($"seed {seed} is negative; seeds are 0 or more");
        }
        var rng = Seeds.Stream((ulong)seed, Name);
        var minority = 1 + rng.NextInt(MaxMinority);
        var keyCount = KeysOutnumberChests ? 2 * minority : minority;
        var chestCount = KeysOutnumberChests ? minority : 2 * minority;
        // Partial Fisher–Yates: the first 1 + K + C cells of a shuffled room.
        var cells = new int[Size * Size];
        for (var i = 0; i < cells.Length; i++)
        {
            cells[i] = i;
        }
        var needed = 1 + keyCount + chestCount;
        for (var i = 0; i < needed; i++)
        {
            var j = i + rng.NextInt(cells.Length - i);
            (cells[i], cells[j]) = (cells[j], cells[i]);
        }
        return new KeysAndChests(Size, cells[0], cells.AsSpan(1, keyCount), cells.AsSpan(1 + keyCount, chestCount), StepLimit)
        {
            Provenance = $"{Description} seed={seed}",
        };
    }
}
