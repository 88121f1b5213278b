using System.Numerics;

namespace Telos.Environments;

/// <summary>
/// The agent's cell, its step count, and which keys it has picked up and which chests it has opened,
/// as bit masks over the level's key and chest lists.
/// </summary>
/// <param name="Cell">Row-major cell index, row 0 at the top.</param>
/// <param name="Steps">Steps taken since the episode began.</param>
/// <param name="KeysTaken">Bit k set when key k has been picked up.</param>
/// <param name="ChestsOpened">Bit c set when chest c has been opened.</param>
public readonly record struct KeysAndChestsState(int Cell, int Steps, ushort KeysTaken, ushort ChestsOpened)
{
    /// <summary>Keys in hand: every opened chest spent one picked-up key.</summary>
    public int KeysHeld => BitOperations.PopCount(KeysTaken) - BitOperations.PopCount(ChestsOpened);

    /// <summary>Number of chests opened.</summary>
    public int ChestsOpenedCount => BitOperations.PopCount(ChestsOpened);
}
