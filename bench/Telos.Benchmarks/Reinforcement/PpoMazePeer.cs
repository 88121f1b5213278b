using System.Diagnostics;
using Telos.Environments;
using Telos.Learning.Native;
using Telos.Learning.Reinforcement;
using Telos.Learning.Reinforcement.Policies;

namespace Telos.Benchmarks.Reinforcement;

/// <summary>
/// Telos side of <c>bench/peers/run.sh ppo-maze</c>: recurrent PPO as experiments/ppo-maze.toml
/// trains it (LSTM policy, conv 8, features 64, LSTM 64; 5×5 maze/train, step limit 30; 16
/// environments × 64 steps, 4 minibatches by environment, 8 epochs, clip 0.2, rate 2.5e-3 annealed),
/// for 11 iterations of which the first is a warm-up; median over the other 10 of environment steps
/// per second of one iteration (rollout, GAE and update). One LibTorch intra-op thread. The LSTM
/// runs on <see cref="LstmKernel.Fused"/>, the update on <see cref="UpdateKernel.Fused"/>, the encoder on <see cref="EncoderKernel.Fused"/>. The peer, <c>bench/peers/ppo-maze.py</c>, is the same in
/// PyTorch and NumPy.
/// </summary>
public sealed class PpoMazePeer : IPeerWorkload
{
    public string Name => "ppo-maze";

    public string Unit => "steps/s";

    public double Measure() => PpoMazeRun.Measure(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.Fused).StepsPerSecond;
}

/// <summary><c>bench/peers/run.sh ppo-maze-cpu</c>: the <see cref="PpoMazePeer"/> workload per process CPU second (the peer uses <c>time.process_time</c>), which load from other jobs distorts less.</summary>
public sealed class PpoMazeCpuPeer : IPeerWorkload
{
    public string Name => "ppo-maze-cpu";

    public string Unit => "steps/cpu-s";

    public double Measure() => PpoMazeRun.Measure(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.Fused).StepsPerCpuSecond;
}

/// <summary>
/// <c>bench/peers/run.sh ppo-maze-steady</c>: the <see cref="PpoMazePeer"/> workload at steady state, 40 iterations of
/// which the first 10 are a warm-up (the rate anneals over all 40); median steps per second over iterations 11–40. By
/// then the JIT has finished recompiling the hot methods at its top tier, which in the short run it does on a
/// background thread during the timed iterations.
/// </summary>
public sealed class PpoMazeSteadyPeer : IPeerWorkload
{
    public string Name => "ppo-maze-steady";

    public string Unit => "steps/s";

    public double Measure() => PpoMazeRun.Measure(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.Fused, PpoMazeRun.SteadyWarmup, PpoMazeRun.SteadyTimed).StepsPerSecond;
}

/// <summary><c>bench/peers/run.sh ppo-maze-steady-cpu</c>: <see cref="PpoMazeSteadyPeer"/> per process CPU second.</summary>
public sealed class PpoMazeSteadyCpuPeer : IPeerWorkload
{
    public string Name => "ppo-maze-steady-cpu";

    public string Unit => "steps/cpu-s";

    public double Measure() => PpoMazeRun.Measure(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.Fused, PpoMazeRun.SteadyWarmup, PpoMazeRun.SteadyTimed).StepsPerCpuSecond;
}

/// <summary>
/// Process CPU seconds per wall-clock second of <see cref="PpoMazePeer"/>'s run (its steps per second over its steps per CPU
/// second), Telos' side only (<c>… peer ppo-maze-cpu-per-wall</c>): above 1 where another thread, such as the JIT's
/// background recompilation, works beside the training thread.
/// </summary>
public sealed class PpoMazeCpuPerWall : IPeerWorkload
{
    public string Name => "ppo-maze-cpu-per-wall";

    public string Unit => "cpu-s/s";

    public double Measure()
    {
        var (wall, cpu) = PpoMazeRun.Measure(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.Fused);
        return wall / cpu;
    }
}

/// <summary><see cref="PpoMazeCpuPerWall"/> of <see cref="PpoMazeSteadyPeer"/>'s run (<c>… peer ppo-maze-steady-cpu-per-wall</c>).</summary>
public sealed class PpoMazeSteadyCpuPerWall : IPeerWorkload
{
    public string Name => "ppo-maze-steady-cpu-per-wall";

    public string Unit => "cpu-s/s";

    public double Measure()
    {
        var (wall, cpu) = PpoMazeRun.Measure(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.Fused, PpoMazeRun.SteadyWarmup, PpoMazeRun.SteadyTimed);
        return wall / cpu;
    }
}

/// <summary>
/// <see cref="PpoMazePeer"/> on <see cref="LstmKernel.LibTorch"/>, <see cref="UpdateKernel.LibTorch"/> and <see cref="EncoderKernel.LibTorch"/>, Telos' side only (no peer script;
/// <c>dotnet bench/Telos.Benchmarks/bin/Release/net10.0/Telos.Benchmarks.dll peer ppo-maze-libtorch</c>).
/// </summary>
public sealed class PpoMazeLibTorchKernel : IPeerWorkload
{
    public string Name => "ppo-maze-libtorch";

    public string Unit => "steps/s";

    public double Measure() => PpoMazeRun.Measure(LstmKernel.LibTorch, UpdateKernel.LibTorch, EncoderKernel.LibTorch).StepsPerSecond;
}

/// <summary><see cref="PpoMazeLibTorchKernel"/> per process CPU second.</summary>
public sealed class PpoMazeLibTorchKernelCpu : IPeerWorkload
{
    public string Name => "ppo-maze-libtorch-cpu";

    public string Unit => "steps/cpu-s";

    public double Measure() => PpoMazeRun.Measure(LstmKernel.LibTorch, UpdateKernel.LibTorch, EncoderKernel.LibTorch).StepsPerCpuSecond;
}

/// <summary>
/// <see cref="PpoMazePeer"/> with the fused LSTM but LibTorch's loss, clip and Adam (<see cref="UpdateKernel.LibTorch"/>) and LibTorch's encoder, per
/// process CPU second, Telos' side only (<c>… peer ppo-maze-libtorch-update-cpu</c>): what <see cref="UpdateKernel.Fused"/> adds.
/// </summary>
public sealed class PpoMazeLibTorchUpdateCpu : IPeerWorkload
{
    public string Name => "ppo-maze-libtorch-update-cpu";

    public string Unit => "steps/cpu-s";

    public double Measure() => PpoMazeRun.Measure(LstmKernel.Fused, UpdateKernel.LibTorch, EncoderKernel.LibTorch).StepsPerCpuSecond;
}

/// <summary>
/// <see cref="PpoMazePeer"/> with the fused LSTM and update, the encoder on <see cref="EncoderKernel.LibTorch"/>, per process CPU
/// second, Telos' side only (<c>… peer ppo-maze-libtorch-encoder-cpu</c>): what <see cref="EncoderKernel.Fused"/> adds.
/// </summary>
public sealed class PpoMazeLibTorchEncoderCpu : IPeerWorkload
{
    public string Name => "ppo-maze-libtorch-encoder-cpu";

    public string Unit => "steps/cpu-s";

    public double Measure() => PpoMazeRun.Measure(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.LibTorch).StepsPerCpuSecond;
}

/// <summary>
/// What <see cref="EncoderKernel.Fused"/> adds, measured so that load from other jobs falls on both sides alike: two trainers of
/// <see cref="PpoMazePeer"/>'s run, one per encoder kernel (the fused LSTM and update in both), in one process, stepped in
/// turn for 40 iterations; the value is the median over the last 35 of the ratio of process CPU time per iteration,
/// LibTorch's encoder over the fused one (above 1: the fused encoder is faster). Telos' side only
/// (<c>… peer ppo-maze-encoder-paired</c>).
/// </summary>
public sealed class PpoMazeEncoderPaired : IPeerWorkload
{
    private const int Iterations = 40;
    private const int Skipped = 5;

    public string Name => "ppo-maze-encoder-paired";

    public string Unit => "cpu-time ratio";

    public double Measure()
    {
        var (libtorchPolicy, libtorch) = PpoMazeRun.Create(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.LibTorch, Iterations);
        var (fusedPolicy, fused) = PpoMazeRun.Create(LstmKernel.Fused, UpdateKernel.Fused, EncoderKernel.Fused, Iterations);
        using (libtorchPolicy)
        using (libtorch)
        using (fusedPolicy)
        using (fused)
        {
            var ratios = new List<double>();
            for (var i = 0; i < Iterations; i++)
            {
                var start = Environment.CpuUsage.TotalTime;
                libtorch.Step();
                var middle = Environment.CpuUsage.TotalTime;
                fused.Step();
                var end = Environment.CpuUsage.TotalTime;
                if (i >= Skipped)
                {
                    ratios.Add((middle - start).TotalSeconds / (end - middle).TotalSeconds);
                }
            }
            return PpoMazeRun.Median(ratios);
        }
    }
}

/// <summary>The run the workloads time.</summary>
internal static class PpoMazeRun
{
    public const int Warmup = 1;
    public const int Timed = 10;

    /// <summary>The warm-up and timed iterations of the steady-state workloads.</summary>
    public const int SteadyWarmup = 10;
    public const int SteadyTimed = 30;

    /// <summary>The policy and trainer of experiments/ppo-maze.toml's network and settings, for <paramref name="iterations"/> iterations.</summary>
    public static (ActorCritic Policy, RecurrentPpo<MazeState> Trainer) Create(LstmKernel kernel, UpdateKernel update, EncoderKernel encoder, int iterations)
    {
        TorchRuntime.EnsureInitialized(threads: 1);
        var settings = Settings(kernel, update, encoder, iterations);
        var family = MazeFamily.Instance;
        var levels = family.Distribution("maze/train", DistributionParameters.Of(("size", 5), ("step_limit", 30)));
        return RecurrentPpo.Create(family, levels, settings, new PolicyOptions(PolicyKind.Lstm, ConvChannels: 8, Features: 64, LstmSize: 64));
    }

    private static PpoSettings Settings(LstmKernel kernel, UpdateKernel update, EncoderKernel encoder, int iterations) => new()
    {
        Seed = 1, NumEnvs = 16, NumSteps = 64, TotalTimesteps = 16 * 64 * iterations, LearningRate = 0.0025,
        NumMinibatches = 4, UpdateEpochs = 8, ClipCoef = 0.2, EntCoef = 0.01, VfCoef = 0.5, MaxGradNorm = 0.5,
        LstmKernel = kernel, UpdateKernel = update, EncoderKernel = encoder,
    };

    /// <summary>Trains <paramref name="warmup"/> + <paramref name="timed"/> iterations; the median rate of the timed ones, per wall-clock and per process CPU second.</summary>
    public static (double StepsPerSecond, double StepsPerCpuSecond) Measure(LstmKernel kernel, UpdateKernel update, EncoderKernel encoder, int warmup = Warmup, int timed = Timed)
    {
        var (policy, trainer) = Create(kernel, update, encoder, warmup + timed);
        var settings = trainer.Settings;
        using (policy)
        using (trainer)
        {
            var wall = new List<double>();
            var cpu = new List<double>();
            for (var i = 0; i < warmup + timed; i++)
            {
                var cpuStart = Environment.CpuUsage.TotalTime;
                var start = Stopwatch.GetTimestamp();
                trainer.Step();
                var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                var cpuSeconds = (Environment.CpuUsage.TotalTime - cpuStart).TotalSeconds;
                if (i >= warmup)
                {
                    wall.Add(settings.BatchSize / seconds);
                    cpu.Add(settings.BatchSize / cpuSeconds);
                }
            }
            return (Median(wall), Median(cpu));
        }
    }

    public static double Median(List<double> values)
    {
        values.Sort();
        var n = values.Count;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }
}
