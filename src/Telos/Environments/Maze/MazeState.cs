namespace Telos.Environments;

/// <summary>
/// Where the mouse is and how many steps it has taken. <see cref="Cell"/> is the row-major cell
/// index <c>row · size + column</c> with row 0 at the top of the maze.
/// </summary>
/// <param name="Cell">Row-major cell index, 0..size²−1; always an open cell.</param>
/// <param name="Steps">Steps taken since the episode began; the episode is truncated at the step limit.</param>
public readonly record struct MazeState(int Cell, int Steps);
