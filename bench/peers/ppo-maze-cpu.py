"""ppo-maze timed in process CPU seconds (bench/peers/run.sh ppo-maze-cpu).

The same workload as ppo-maze.py; time.process_time instead of time.perf_counter, so time spent
descheduled on a shared machine does not count. The Telos side is PpoMazeCpuPeer. What was done to
make the peer fast is in ppo-maze.py's header.
"""
import importlib.util
import os
import time

spec = importlib.util.spec_from_file_location("ppo_maze", os.path.join(os.path.dirname(os.path.abspath(__file__)), "ppo-maze.py"))
ppo_maze = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ppo_maze)

if __name__ == "__main__":
    ppo_maze.main(clock=time.process_time, unit="steps/cpu-s")
