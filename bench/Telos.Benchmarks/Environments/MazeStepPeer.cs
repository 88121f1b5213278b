using Telos.Environments;

namespace Telos.Benchmarks.Environments;

/// <summary>
/// Telos side of <c>bench/peers/run.sh maze-step</c>: 1024 mazes of 13×13 from <c>maze/test</c>
/// (pool of 1024 levels), uniformly random actions, no observation encoding; median environment
/// steps per second over 7 repeats of 2000 batch steps. The peer, <c>bench/peers/maze-step.py</c>,
/// steps the same logic vectorized with NumPy.
/// </summary>
public sealed class MazeStepPeer : IPeerWorkload
{
    public string Name => "maze-step";

    public string Unit => "steps/s";

    public double Measure() =>
        BatchThroughput.Maze(TaskDistributions.Maze("maze/test", 13), batch: 1024, encodeObservations: false, batchSteps: 2000, repeats: 7).StepsPerSecond;
}

/// <summary>
/// <c>bench/peers/run.sh maze-step-cpu</c>: the <see cref="MazeStepPeer"/> workload timed in process
/// CPU seconds instead of wall-clock seconds (the peer uses <c>time.process_time</c>), so a machine
/// shared with other jobs distorts the ratio less.
/// </summary>
public sealed class MazeStepCpuPeer : IPeerWorkload
{
    public string Name => "maze-step-cpu";

    public string Unit => "steps/cpu-s";

    public double Measure() =>
        BatchThroughput.Maze(TaskDistributions.Maze("maze/test", 13), batch: 1024, encodeObservations: false, batchSteps: 2000, repeats: 7).StepsPerCpuSecond;
}
