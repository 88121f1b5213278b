"""ppo-maze at steady state (bench/peers/run.sh ppo-maze-steady-cpu).

The same workload as ppo-maze.py, trained for 40 iterations of which the first 10 are a warm-up, so
that the value is the median over iterations 11-40: on the Telos side the .NET JIT has finished its
tiered recompilation by then (it runs on a background thread during the first iterations, which a
process-CPU clock counts). Timed in process CPU seconds (time.process_time). The Telos side is PpoMazeSteadyCpuPeer.
"""
import importlib.util
import os
import time

spec = importlib.util.spec_from_file_location("ppo_maze", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ppo-maze.py"))
ppo_maze = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ppo_maze)

if __name__ == "__main__":
    ppo_maze.main(clock=time.process_time, unit="steps/cpu-s", warmup=10, timed=30)
