namespace Telos.Objectives;

/// <summary>
/// What a planner sees of an objective: a batched value of states. Compiled feature objectives
/// implement it with dot products; neural ones with one forward pass per call. Planners call it
/// once per wave of leaves, never once per node through TorchSharp.
/// </summary>
public interface IStateEvaluator<TState>
    where TState : struct
{
    /// <summary>Writes the value of each state: <paramref name="values"/>[i] = V(<paramref name="states"/>[i]). Lengths must match.</summary>
    void Evaluate(ReadOnlySpan<TState> states, Span<double> values);
}
