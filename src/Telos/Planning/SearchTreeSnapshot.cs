using System.Text.Json;
using System.Text.Json.Serialization;

namespace Telos.Planning;

/// <summary>One node of an exported search tree.</summary>
/// <param name="Index">Node index (MCTS: the simulation that created it; BFS: discovery order). The root is 0.</param>
/// <param name="Parent">Parent index, −1 for the root.</param>
/// <param name="Action">Action from the parent (the halt action is A), −1 for the root.</param>
/// <param name="Visits">Visit count (BFS: 1).</param>
/// <param name="Value">MCTS: the node's backed-up value; BFS: the objective's value of the state.</param>
/// <param name="Reward">Reward of the transition into the node (the objective's value on arrival, or the halting value).</param>
/// <param name="State">The state, as text (e.g. <c>MazeState { Cell = 12, Steps = 3 }</c>).</param>
public sealed record SearchTreeNode(int Index, int Parent, int Action, int Visits, double Value, double Reward, string State);

/// <summary>A search tree copied out of a planner for inspection and JSON export.</summary>
/// <param name="Planner">Which planner built it.</param>
/// <param name="ActionCount">A, including the halt action for MCTS.</param>
/// <param name="Nodes">Nodes in index order.</param>
public sealed record SearchTreeSnapshot(string Planner, int ActionCount, IReadOnlyList<SearchTreeNode> Nodes)
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = false,
    };

    /// <summary><c>{"planner","action_count","nodes":[{"index","parent","action","visits","value","reward","state"}]}</c>.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);
}
