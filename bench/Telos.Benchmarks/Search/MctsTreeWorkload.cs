using Telos.Planning.Search;

namespace Telos.Benchmarks.Search;

/// <summary>
/// Telos side of <c>bench/peers/run.sh mcts-tree</c>: batched PUCT (mctx muzero_policy defaults)
/// with the trivial <see cref="SyntheticTreeModel"/>, B = 256, N = 64, A = 16, in simulations per
/// second (B·N over the median search time), the same sizes and model as bench/peers/mcts-tree.py.
/// </summary>
public sealed class MctsTreeWorkload : IPeerWorkload
{
    public string Name => "mcts-tree";

    public string Unit => "simulations/s";

    public double Measure() => SearchBenchmark.Synthetic("puct", batch: 256, simulations: 64, actions: 16, repeats: 21).SimsPerSecond;
}
